/* mosquitto's plugin API headers, 2.0's or 2.1's (whichever the include path finds first), and
 * WA_MOSQ_21 when they are 2.1's or newer: the switch for what only a 2.1 build offers
 * (MOSQ_EVT_MESSAGE_OUT, MOSQ_EVT_SUBSCRIBE). Derived from the headers, never passed by hand, so
 * a build cannot claim events its headers do not define. */
#ifndef WA_MOSQ_H
#define WA_MOSQ_H

#include <mosquitto.h>

#if LIBMOSQUITTO_MAJOR > 2 || (LIBMOSQUITTO_MAJOR == 2 && LIBMOSQUITTO_MINOR >= 1)
/* 2.1's mosquitto.h brings the broker and plugin headers; its mosquitto_broker.h and
 * mosquitto_plugin.h are wrappers that #warning (an error under -Werror). */
#define WA_MOSQ_21 1
/* The tick's "next" field: 2.1 names it next_ms (2.0's next_ns, same offset and type). */
#define WA_TICK_NEXT_MS next_ms
#else
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#define WA_MOSQ_21      0
#define WA_TICK_NEXT_MS next_ns
#endif

/* mosquitto 2.1 tells a client whose session outlives its connection going offline with this
 * event (same data as MOSQ_EVT_DISCONNECT), and never sends MOSQ_EVT_DISCONNECT for it; 2.0
 * refuses to register the number. Named here for a 2.0 build loaded by a 2.1 broker too. */
#ifdef MOSQ_EVT_CLIENT_OFFLINE
#define WA_EVT_CLIENT_OFFLINE MOSQ_EVT_CLIENT_OFFLINE
#else
#define WA_EVT_CLIENT_OFFLINE 28
#endif

#endif
