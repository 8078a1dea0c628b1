/* One logging entry point for the runtime. The embedder picks where lines go: the plugin sends
 * them to mosquitto_log_printf, the tools to stderr. Every line starts "wasm-auth: ". Levels are
 * mosquitto's MOSQ_LOG_* values, repeated here so the runtime does not need mosquitto's headers. */
#ifndef WASM_AUTH_LOG_H
#define WASM_AUTH_LOG_H

#define WA_LOG_INFO    1
#define WA_LOG_NOTICE  2
#define WA_LOG_WARNING 4
#define WA_LOG_ERR     8
#define WA_LOG_DEBUG   16

/* Receives one complete line (prefix included, no newline). */
typedef void (*wa_log_sink)(int level, const char *line);

/* NULL restores the default sink (stderr). */
void wa_log_set_sink(wa_log_sink sink);

void wa_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Lines logged by a thread that called wa_log_defer(1) (a worker: mosquitto's API is for its main
 * thread only) are queued, up to WA_LOG_QUEUE_LINES, and reach the sink at the next
 * wa_log_flush(), which the main thread calls (on a deferring thread it does nothing). Beyond the
 * cap lines are counted, and the flush says how many were lost. */
void wa_log_defer(int on);
void wa_log_flush(void);

#endif
