/* relay_int.h — the runner's shared state, seen by the delivery and runner modules only. */
#ifndef RELAY_INT_H
#define RELAY_INT_H

#include <pthread.h>

#include "mailtls/policy.h"
#include "relay.h"

struct rl_slot { /* connections in use to one destination domain */
	char domain[256];
	unsigned busy;
	struct rl_slot *next;
};

struct rl_sts { /* an MTA-STS lookup: looked up again at refresh; a policy holds until expires */
	char domain[256];
	bool has_policy;
	struct mt_sts_policy policy;
	char id[33]; /* the policy's id (from the TXT record it was fetched under) */
	char text[300];
	time_t expires; /* the policy's end (fetched + max_age); 0 without one */
	time_t refresh; /* when to look it up again */
	struct rl_sts *next;
};

struct rl_alert_seen { /* alerts are sent at most once an hour per destination */
	char domain[256];
	time_t last;
	struct rl_alert_seen *next;
};

struct rl_ctx {
	pthread_mutex_t mu;
	pthread_cond_t slot_cv;
	struct rl_slot *slots;
	struct rl_sts *sts;
	struct rl_alert_seen *alerts;
	uint64_t dcid;
	/* connection reuse, provided by the runner: take another due message whose pending
	 * recipients are all in domain; give it back (m NULL: untouched, back to the queue of
	 * work; else attempted: the runner finishes it as its own). */
	void *runner;
	bool (*steal)(void *runner, const char *domain, uint64_t *mid);
	void (*giveback)(void *runner, uint64_t mid, struct rl_msg *m);
	unsigned reuse_max;
};

#endif
