/* Load L for the broker benchmarks (docs/BENCHMARKS.md): one subscriber on a filter and one
 * publisher sending QoS 0 messages, both as the same user, over libmosquitto (C: the client must
 * cost less than the broker it measures).
 *
 * Protocol with the driver (bench/run.ts), line based:
 *   load prints "READY" once both clients are connected and the subscription is acknowledged,
 *   then waits for a line on stdin; it publishes COUNT messages, keeping at most WINDOW
 *   undelivered (so QoS 0 messages are never dropped by a full queue and a slow broker, e.g.
 *   under valgrind, is not flooded), and prints "DONE <sent> <received> <elapsed_ns>"; then it
 *   waits for stdin to close and disconnects. Connection and disconnection costs thus fall
 *   outside the measured interval.
 * Usage: load PORT USER PASSWORD COUNT TOPIC FILTER [WINDOW] */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#define LOAD_PAYLOAD "0123456789abcdef"
#define LOAD_STALL_S 20 /* give up when nothing arrives for this long */

struct load_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long received;
	int subscribed;
	int connected[2];
	int failed;
};

static struct load_state st = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, { 0, 0 }, 0 };

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	int which = (int)(intptr_t)obj - 1; /* 1-based: a NULL obj means "pass the client" */
	pthread_mutex_lock(&st.mu);
	if (rc == 0)
		st.connected[which] = 1;
	else
		st.failed = 1;
	pthread_cond_broadcast(&st.cv);
	pthread_mutex_unlock(&st.mu);
	if (rc != 0) fprintf(stderr, "load: connect refused: %s\n", mosquitto_connack_string(rc));
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int qos_count, const int *granted)
{
	(void)m;
	(void)obj;
	(void)mid;
	pthread_mutex_lock(&st.mu);
	if (qos_count < 1 || granted[0] > 2) {
		fprintf(stderr, "load: subscription refused (%d)\n", qos_count ? granted[0] : -1);
		st.failed = 1;
	} else {
		st.subscribed = 1;
	}
	pthread_cond_broadcast(&st.cv);
	pthread_mutex_unlock(&st.mu);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	(void)obj;
	(void)msg;
	pthread_mutex_lock(&st.mu);
	st.received++;
	pthread_cond_broadcast(&st.cv);
	pthread_mutex_unlock(&st.mu);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits on the condition until pred() holds; 0 ok, -1 on failure or stall. */
static int wait_for(int (*pred)(void *), void *arg)
{
	int rc = 0;
	pthread_mutex_lock(&st.mu);
	long last = st.received;
	time_t since = time(NULL);
	while (!st.failed && !pred(arg)) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 1;
		pthread_cond_timedwait(&st.cv, &st.mu, &dl);
		if (st.received != last) {
			last = st.received;
			since = time(NULL);
		} else if (time(NULL) - since > LOAD_STALL_S) {
			fprintf(stderr, "load: stalled at %ld received\n", st.received);
			rc = -1;
			break;
		}
	}
	if (st.failed) rc = -1;
	pthread_mutex_unlock(&st.mu);
	return rc;
}

static int ready_pred(void *arg)
{
	(void)arg;
	return st.connected[0] && st.connected[1] && st.subscribed;
}

static int window_pred(void *arg)
{
	const long *need = arg;
	return st.received >= *need;
}

static struct mosquitto *client(const char *id, int which, const char *user, const char *pw, int port)
{
	struct mosquitto *m = mosquitto_new(id, true, (void *)(intptr_t)(which + 1));
	if (m == NULL) return NULL;
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	if (mosquitto_username_pw_set(m, user, pw) != MOSQ_ERR_SUCCESS ||
	    mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "load: cannot connect %s to port %d\n", id, port);
		return NULL;
	}
	return m;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: load PORT USER PASSWORD COUNT TOPIC FILTER [WINDOW]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	long count = atol(argv[4]);
	const char *topic = argv[5], *filter = argv[6];
	long window = argc > 7 ? atol(argv[7]) : 1000;
	if (port <= 0 || count <= 0 || window <= 0) return 2;

	mosquitto_lib_init();
	struct mosquitto *sub = client("bench-sub", 0, argv[2], argv[3], port);
	if (sub == NULL) return 1;
	if (mosquitto_subscribe(sub, NULL, filter, 0) != MOSQ_ERR_SUCCESS) return 1;
	struct mosquitto *pub = client("bench-pub", 1, argv[2], argv[3], port);
	if (pub == NULL || wait_for(ready_pred, NULL) != 0) {
		fprintf(stderr, "load: not ready\n");
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	char line[64];
	if (fgets(line, sizeof line, stdin) == NULL) return 1;

	uint64_t t0 = now_ns();
	long sent = 0;
	int rc = 0;
	while (sent < count && rc == 0) {
		long need = sent - window + 1;
		if (need > 0 && wait_for(window_pred, &need) != 0) {
			rc = -1;
			break;
		}
		int prc = mosquitto_publish(pub, NULL, topic, (int)strlen(LOAD_PAYLOAD), LOAD_PAYLOAD, 0, false);
		if (prc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "load: publish: %s\n", mosquitto_strerror(prc));
			rc = -1;
			break;
		}
		sent++;
	}
	if (rc == 0) rc = wait_for(window_pred, &count);
	uint64_t t1 = now_ns();
	pthread_mutex_lock(&st.mu);
	long received = st.received;
	pthread_mutex_unlock(&st.mu);
	printf("DONE %ld %ld %llu\n", sent, received, (unsigned long long)(t1 - t0));
	fflush(stdout);
	while (fgets(line, sizeof line, stdin) != NULL) {
		/* the driver samples the broker, then closes our stdin */
	}
	mosquitto_disconnect(pub);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(pub, false);
	mosquitto_loop_stop(sub, false);
	mosquitto_destroy(pub);
	mosquitto_destroy(sub);
	mosquitto_lib_cleanup();
	return rc == 0 ? 0 : 1;
}
