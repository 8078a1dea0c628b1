/* Broker workloads W1-W4 (docs/BENCHMARKS.md "Workloads"): many clients, many topics, skewed
 * topic choice, fan-out, over libmosquitto. Unlike bench/load.c (two threaded clients) it drives
 * every connection from one thread with poll() and libmosquitto's non-threaded calls, so 1,000
 * connections cost 1,000 sockets, not 1,000 threads, and the client stays cheaper than the broker
 * it measures.
 *
 * Clients. Publishing users: "bench" alone (-p 0, the default) or user0000..user(N-1) (-p N), with
 * their passwords from gen_data's passwords.txt. Each publishing user u has T topics (-t T):
 * users/<u>/x when T = 1 (load L's topic), else users/<u>/t0 .. t(T-1). Subscribers (-s K): K
 * connections per publishing user, each as u on users/<u>/#; with -s 0 the publisher's own
 * connection subscribes to users/<u>/# (policy P lets nobody but u read u's subtree, so a
 * message is only delivered to its own user's connections).
 * Message i is published by publisher i mod N (round-robin over users); its topic is the
 * publisher's next topic in turn, or with -z S a Zipf(S) choice among its T topics (topic k with
 * probability proportional to 1/(k+1)^S) from a fixed-seed generator, so every run sends the
 * same sequence. QoS 0, 16-byte payload.
 *
 * Protocol with the driver (bench/run.ts), line based: prints "READY <connections>" once every
 * connection is accepted and every subscription acknowledged; then each line "<count>" on stdin
 * publishes count messages (continuing the sequence), keeping at most WINDOW deliveries
 * outstanding (-w, default 500: QoS 0 messages are never dropped by a full queue and a broker
 * under valgrind is not flooded), and prints "DONE <sent> <received> <elapsed_ns>" once every
 * delivery of the phase arrived. End of stdin disconnects everyone and exits. Connection and
 * disconnection thus fall outside every phase, and the driver can measure the phases separately
 * (a warm-up, then the measured run).
 * Usage: workload [-p N] [-t T] [-z S] [-s K] [-w WINDOW] PORT PASSWORDS_FILE */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "zipf.h"

#define WL_PAYLOAD    "0123456789abcdef"
#define WL_STALL_S    60 /* give up when nothing arrives for this long (valgrind is slow) */
#define WL_CONNECTING 32 /* connections in progress at once: stay within the listen backlog */
/* no PINGREQ inside any realistic run: keeps the broker's work per message exactly the messages' */
#define WL_KEEPALIVE 3600
#define WL_READS     64 /* packets read from one socket per poll round */

struct wl_client {
	struct mosquitto *m;
	int user;      /* index into wl_users */
	int publisher; /* publishes (and with -s 0 subscribes itself) */
	int subscribes;
	int connected;
	int subscribed;
};

struct wl_user {
	char name[64];
	char password[64];
	char **topics; /* T topic strings */
	unsigned next; /* round-robin position */
};

static struct wl_client *clients;
static int nclients;
static struct wl_user *users;
static int nusers;
static long received;
static int nconnected, nsubscribed, nconnecting, failed;

static void die(const char *msg)
{
	fprintf(stderr, "workload: %s\n", msg);
	exit(1);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct wl_client *c = obj;
	nconnecting--;
	if (rc != 0) {
		fprintf(stderr, "workload: %s refused: %s\n", users[c->user].name, mosquitto_connack_string(rc));
		failed = 1;
		return;
	}
	c->connected = 1;
	nconnected++;
	if (c->subscribes) {
		char filter[96];
		snprintf(filter, sizeof filter, "users/%s/#", users[c->user].name);
		if (mosquitto_subscribe(m, NULL, filter, 0) != MOSQ_ERR_SUCCESS) failed = 1;
	}
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int qos_count, const int *granted)
{
	(void)m;
	(void)mid;
	struct wl_client *c = obj;
	if (qos_count < 1 || granted[0] > 2) {
		fprintf(stderr, "workload: subscription of %s refused\n", users[c->user].name);
		failed = 1;
		return;
	}
	c->subscribed = 1;
	nsubscribed++;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	(void)obj;
	(void)msg;
	received++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct zipf zipf; /* cdf NULL: round-robin */

static unsigned pick_topic(struct wl_user *u, unsigned ntopics)
{
	if (zipf.cdf == NULL) return u->next++ % ntopics;
	return zipf_pick(&zipf);
}

static void load_passwords(const char *file, int pubs)
{
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		perror(file);
		exit(1);
	}
	char name[64], pw[64];
	int found = 0;
	while (fscanf(f, "%63s %63s", name, pw) == 2) {
		int idx = -1;
		if (pubs == 0 && !strcmp(name, "bench"))
			idx = 0;
		else if (pubs > 0 && !strncmp(name, "user", 4)) {
			int n = atoi(name + 4);
			if (n >= 0 && n < pubs) idx = n;
		}
		if (idx < 0) continue;
		snprintf(users[idx].name, sizeof users[idx].name, "%s", name);
		snprintf(users[idx].password, sizeof users[idx].password, "%s", pw);
		found++;
	}
	fclose(f);
	if (found != nusers) die("PASSWORDS_FILE lacks some of the users");
}

/* Reads and writes every socket that poll() found ready; stdin (slot 0) is left to the caller. */
static void pump(struct pollfd *pfd, int timeout_ms)
{
	for (int i = 0; i < nclients; i++) {
		struct wl_client *c = &clients[i];
		pfd[i + 1].fd = c->m ? mosquitto_socket(c->m) : -1;
		pfd[i + 1].events = (short)(POLLIN | (c->m && mosquitto_want_write(c->m) ? POLLOUT : 0));
		pfd[i + 1].revents = 0;
	}
	pfd[0].revents = 0;
	if (poll(pfd, (nfds_t)nclients + 1, timeout_ms) < 0 && errno != EINTR) die("poll");
	for (int i = 0; i < nclients; i++) {
		struct wl_client *c = &clients[i];
		short r = pfd[i + 1].revents;
		if (c->m == NULL || r == 0) continue;
		if (r & (POLLIN | POLLHUP | POLLERR)) {
			/* libmosquitto reads one packet per call; read on until the socket would block. */
			for (int k = 0; k < WL_READS; k++) {
				errno = 0;
				int rc = mosquitto_loop_read(c->m, 1);
				if (rc != MOSQ_ERR_SUCCESS) {
					fprintf(stderr, "workload: connection of %s lost: %s\n", users[c->user].name,
					        mosquitto_strerror(rc));
					failed = 1;
					break;
				}
				if (errno == EAGAIN || errno == EWOULDBLOCK) break;
			}
		}
		if (r & POLLOUT) mosquitto_loop_write(c->m, 1);
	}
}

static void connect_next(int *next, int port)
{
	while (*next < nclients && nconnecting < WL_CONNECTING) {
		struct wl_client *c = &clients[*next];
		char id[48];
		snprintf(id, sizeof id, "wl-%d", *next);
		c->m = mosquitto_new(id, true, c);
		if (c->m == NULL) die("mosquitto_new");
		mosquitto_connect_callback_set(c->m, on_connect);
		mosquitto_subscribe_callback_set(c->m, on_subscribe);
		mosquitto_message_callback_set(c->m, on_message);
		if (mosquitto_username_pw_set(c->m, users[c->user].name, users[c->user].password) != MOSQ_ERR_SUCCESS ||
		    mosquitto_connect(c->m, "127.0.0.1", port, WL_KEEPALIVE) != MOSQ_ERR_SUCCESS) {
			die("cannot connect");
		}
		nconnecting++;
		(*next)++;
	}
}

int main(int argc, char **argv)
{
	int pubs = 0, ntopics = 1, subs = 1;
	long window = 500;
	double s_zipf = 0;
	int opt;
	while ((opt = getopt(argc, argv, "p:t:z:s:w:")) != -1) {
		switch (opt) {
			case 'p': pubs = atoi(optarg); break;
			case 't': ntopics = atoi(optarg); break;
			case 'z': s_zipf = atof(optarg); break;
			case 's': subs = atoi(optarg); break;
			case 'w': window = atol(optarg); break;
			default: goto usage;
		}
	}
	if (argc - optind != 2 || pubs < 0 || ntopics < 1 || subs < 0 || window < 1 || s_zipf < 0) goto usage;
	int port = atoi(argv[optind]);
	if (port <= 0) goto usage;

	nusers = pubs == 0 ? 1 : pubs;
	users = calloc((size_t)nusers, sizeof *users);
	if (users == NULL) die("out of memory");
	load_passwords(argv[optind + 1], pubs);
	for (int u = 0; u < nusers; u++) {
		users[u].topics = calloc((size_t)ntopics, sizeof(char *));
		if (users[u].topics == NULL) die("out of memory");
		for (int k = 0; k < ntopics; k++) {
			char t[96];
			if (ntopics == 1)
				snprintf(t, sizeof t, "users/%s/x", users[u].name);
			else
				snprintf(t, sizeof t, "users/%s/t%d", users[u].name, k);
			users[u].topics[k] = strdup(t);
			if (users[u].topics[k] == NULL) die("out of memory");
		}
	}
	if (s_zipf > 0 && zipf_init(&zipf, (unsigned)ntopics, s_zipf) != 0) die("out of memory");
	/* Subscribers first: every publisher then finds its readers already subscribed. */
	nclients = nusers * (subs + 1);
	clients = calloc((size_t)nclients, sizeof *clients);
	struct pollfd *pfd = calloc((size_t)nclients + 1, sizeof *pfd);
	if (clients == NULL || pfd == NULL) die("out of memory");
	int n = 0;
	for (int u = 0; u < nusers; u++) {
		for (int k = 0; k < subs; k++) clients[n++] = (struct wl_client){ .user = u, .subscribes = 1 };
	}
	int first_pub = n;
	for (int u = 0; u < nusers; u++)
		clients[n++] = (struct wl_client){ .user = u, .publisher = 1, .subscribes = subs == 0 };
	long fanout = subs == 0 ? 1 : subs;
	int nsubscribers = subs == 0 ? nusers : nusers * subs;

	mosquitto_lib_init();
	pfd[0].fd = STDIN_FILENO;
	pfd[0].events = POLLIN;
	int next = 0;
	time_t since = time(NULL);
	int last = 0;
	while (!failed && (nconnected < nclients || nsubscribed < nsubscribers)) {
		connect_next(&next, port);
		pump(pfd, 100);
		if (nconnected + nsubscribed != last) {
			last = nconnected + nsubscribed;
			since = time(NULL);
		} else if (time(NULL) - since > WL_STALL_S) {
			die("connections stalled");
		}
	}
	if (failed) die("not ready");
	printf("READY %d\n", nclients);
	fflush(stdout);

	char line[64];
	size_t linelen = 0;
	long seq = 0; /* messages published so far, over all phases */
	int rc = 0;
	for (;;) {
		/* Idle: wait for a phase on stdin, keeping the connections served. */
		long count = -1;
		while (count < 0 && !failed) {
			char *nl = memchr(line, '\n', linelen);
			if (nl != NULL) {
				/* Several lines may arrive in one read: take the first, keep the rest. */
				*nl = '\0';
				count = atol(line);
				linelen -= (size_t)(nl + 1 - line);
				memmove(line, nl + 1, linelen);
				if (count <= 0) die("bad count");
				break;
			}
			if (linelen >= sizeof line) die("bad command");
			pfd[0].fd = STDIN_FILENO;
			pump(pfd, 1000);
			if (!(pfd[0].revents & (POLLIN | POLLHUP))) continue;
			ssize_t got = read(STDIN_FILENO, line + linelen, sizeof line - linelen);
			if (got <= 0) {
				count = 0; /* end of input */
				break;
			}
			linelen += (size_t)got;
		}
		if (failed || count == 0) break;
		/* stdin is not polled during a phase. */
		pfd[0].fd = -1;
		uint64_t t0 = now_ns();
		long sent = 0, base = received;
		since = time(NULL);
		long seen = received;
		while (!failed && (sent < count || received - base < sent * fanout)) {
			while (sent < count && sent * fanout - (received - base) < window) {
				struct wl_client *c = &clients[first_pub + (int)(seq % nusers)];
				struct wl_user *u = &users[c->user];
				const char *topic = u->topics[pick_topic(u, (unsigned)ntopics)];
				int prc =
				    mosquitto_publish(c->m, NULL, topic, (int)strlen(WL_PAYLOAD), WL_PAYLOAD, 0, false);
				if (prc != MOSQ_ERR_SUCCESS) {
					fprintf(stderr, "workload: publish: %s\n", mosquitto_strerror(prc));
					failed = 1;
					break;
				}
				sent++;
				seq++;
			}
			pump(pfd, 1000);
			if (received != seen) {
				seen = received;
				since = time(NULL);
			} else if (time(NULL) - since > WL_STALL_S) {
				fprintf(stderr, "workload: stalled at %ld of %ld deliveries\n", received - base,
				        sent * fanout);
				rc = 1;
				failed = 1;
			}
		}
		uint64_t t1 = now_ns();
		printf("DONE %ld %ld %llu\n", sent, received - base, (unsigned long long)(t1 - t0));
		fflush(stdout);
		if (failed) break;
	}
	for (int i = 0; i < nclients; i++) {
		if (clients[i].m == NULL) continue;
		mosquitto_disconnect(clients[i].m);
		mosquitto_loop_write(clients[i].m, 1);
		mosquitto_destroy(clients[i].m);
	}
	mosquitto_lib_cleanup();
	return rc || failed;

usage:
	fprintf(stderr, "usage: workload [-p N] [-t T] [-z S] [-s K] [-w WINDOW] PORT PASSWORDS_FILE\n");
	return 2;
}
