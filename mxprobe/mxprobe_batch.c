/* mxprobe_batch.c — many domains: a pool of worker threads pulls lines from the input,
 * each worker with its own resolver, and results are written as each domain completes
 * (JSON Lines, matrices, XML elements, JUnit suites). Memory is bounded by the number of
 * workers: a domain's result is freed once written, whatever the list length. XML elements
 * pass through libxml2's output buffer, which reaches the file in blocks; the document is
 * complete when the caller closes it at the end.
 *
 * Also the per-destination limiter: at most per_ip probes at once to one address, and
 * connection starts to one address at least spacing_ms apart, so batch runs over domains
 * sharing MX hosts do not trip their rate limits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailtls/report_junit.h"
#include "mxprobe.h"

/* ---- limiter ---- */

struct lim_ent {
	char addr[64];
	int active;
	int64_t next_ok;
	struct lim_ent *next;
};

#define LIM_BUCKETS 1024
static struct lim_ent *lim_tab[LIM_BUCKETS];
static pthread_mutex_t lim_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lim_cv = PTHREAD_COND_INITIALIZER;
static int lim_per_ip = 4, lim_spacing = 0;

void mx_limit_init(int per_ip, int spacing_ms)
{
	lim_per_ip = per_ip > 0 ? per_ip : 1;
	lim_spacing = spacing_ms > 0 ? spacing_ms : 0;
}

static unsigned lim_hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % LIM_BUCKETS;
}

static struct lim_ent **lim_find(const char *addr)
{
	struct lim_ent **pp = &lim_tab[lim_hash(addr)];
	while (*pp && strcmp((*pp)->addr, addr))
		pp = &(*pp)->next;
	return pp;
}

void mx_limit_acquire(const char *addr)
{
	pthread_mutex_lock(&lim_mu);
	for (;;) {
		struct lim_ent **pp = lim_find(addr);
		if (!*pp) {
			struct lim_ent *e = calloc(1, sizeof *e);
			if (!e)
				break; /* no memory: do not limit rather than fail the probe */
			mt_strlcpy(e->addr, addr, sizeof e->addr);
			*pp = e;
		}
		struct lim_ent *e = *pp;
		int64_t now = mt_now_ms();
		if (e->active < lim_per_ip && now >= e->next_ok) {
			e->active++;
			e->next_ok = now + lim_spacing;
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t wait = e->active >= lim_per_ip ? 50 : e->next_ok - now;
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		pthread_cond_timedwait(&lim_cv, &lim_mu, &ts);
	}
	pthread_mutex_unlock(&lim_mu);
}

void mx_limit_release(const char *addr)
{
	pthread_mutex_lock(&lim_mu);
	struct lim_ent **pp = lim_find(addr);
	struct lim_ent *e = *pp;
	if (e && e->active > 0 && --e->active == 0 && mt_now_ms() >= e->next_ok) {
		/* idle and past its spacing: forget it, so memory follows concurrency */
		*pp = e->next;
		free(e);
	}
	pthread_cond_broadcast(&lim_cv);
	pthread_mutex_unlock(&lim_mu);
}

/* ---- input ---- */

bool mx_batch_line(char *line, char *out, size_t outsz)
{
	char *h = strchr(line, '#');
	if (h)
		*h = '\0';
	char *s = line;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	if (!*s)
		return false;
	mt_strlcpy(out, s, outsz);
	return true;
}

/* ---- the pool ---- */

struct pool {
	const struct mx_cfg *cfg;
	FILE *in;
	const char *inname;
	struct mx_batch_out *out;
	pthread_mutex_t in_mu, out_mu;
	int worst;
	size_t done, lineno;
	int64_t t0;
	bool input_error;
	char input_msg[300];
};

static void note_exit(struct pool *pl, int rc)
{
	/* 70 and 64 dominate, then the highest of 3, 2, 1 */
	if (rc > pl->worst)
		pl->worst = rc;
}

static void emit(struct pool *pl, struct mx_domain *d)
{
	struct mx_batch_out *o = pl->out;
	pthread_mutex_lock(&pl->out_mu);
	if (o->json) {
		char *s = mx_out_json(d, false);
		if (s) {
			fputs(s, o->f);
			fputc('\n', o->f);
			free(s);
		} else {
			note_exit(pl, MX_EXIT_INTERNAL);
		}
	} else if (o->xml) {
		struct mt_err err;
		if (mx_out_xml(o->xml, d, &err) != MT_OK) {
			fprintf(stderr, "mxprobe: %s\n", err.msg);
			note_exit(pl, MX_EXIT_INTERNAL);
		}
	} else if (o->text) {
		mx_out_matrix(o->f, d, o->color, o->verbose);
		fputc('\n', o->f);
	}
	fflush(o->f);
	if (o->junit) {
		struct mt_err err;
		if (mx_out_junit(o->junit, d, &err) != MT_OK) {
			fprintf(stderr, "mxprobe: %s\n", err.msg);
			note_exit(pl, MX_EXIT_INTERNAL);
		}
	}
	note_exit(pl, d->exit_code);
	pl->done++;
	if (o->progress) {
		double secs = (mt_now_ms() - pl->t0) / 1000.0;
		fprintf(stderr, "\r%zu domains done, %.1f/s", pl->done, secs > 0 ? pl->done / secs : 0.0);
	}
	pthread_mutex_unlock(&pl->out_mu);
}

static void *worker(void *arg)
{
	struct pool *pl = arg;
	struct mt_dns *dns = NULL;
	struct mt_err err;
	if (mt_dns_new(pl->cfg->resolver, pl->cfg->dns_timeout_ms, &dns, &err) != MT_OK) {
		pthread_mutex_lock(&pl->out_mu);
		fprintf(stderr, "mxprobe: resolver: %s\n", err.msg);
		note_exit(pl, MX_EXIT_CONNECT);
		pthread_mutex_unlock(&pl->out_mu);
		return NULL;
	}
	struct mx_domain *d = malloc(sizeof *d);
	char *line = NULL;
	size_t cap = 0;
	char dom[300];
	while (d) {
		bool have = false;
		pthread_mutex_lock(&pl->in_mu);
		while (!have) {
			errno = 0;
			ssize_t n = getline(&line, &cap, pl->in);
			if (n < 0) {
				if (ferror(pl->in) && !pl->input_error) {
					pl->input_error = true;
					snprintf(pl->input_msg, sizeof pl->input_msg, "reading %s: %s",
						 pl->inname, strerror(errno));
				}
				break;
			}
			pl->lineno++;
			if (n > 1024) {
				fprintf(stderr, "mxprobe: %s line %zu: longer than 1024 characters, skipped\n",
					pl->inname, pl->lineno);
				continue;
			}
			have = mx_batch_line(line, dom, sizeof dom);
		}
		pthread_mutex_unlock(&pl->in_mu);
		if (!have)
			break;
		mx_domain_run(pl->cfg, dns, dom, d);
		emit(pl, d);
		mx_domain_free(d);
	}
	if (!d) {
		pthread_mutex_lock(&pl->out_mu);
		note_exit(pl, MX_EXIT_INTERNAL);
		pthread_mutex_unlock(&pl->out_mu);
	}
	free(line);
	free(d);
	mt_dns_free(dns);
	return NULL;
}

int mx_batch_run(const struct mx_cfg *cfg, FILE *in, const char *inname, int nthreads,
		 struct mx_batch_out *out)
{
	struct pool pl;
	memset(&pl, 0, sizeof pl);
	pl.cfg = cfg, pl.in = in, pl.inname = inname, pl.out = out;
	pl.t0 = mt_now_ms();
	pthread_mutex_init(&pl.in_mu, NULL);
	pthread_mutex_init(&pl.out_mu, NULL);
	if (nthreads < 1)
		nthreads = 1;
	pthread_t *th = calloc((size_t)nthreads, sizeof *th);
	if (!th)
		return MX_EXIT_INTERNAL;
	/* small stacks: the work lives on the heap, and 1000 threads must stay cheap */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	int started = 0;
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&th[i], &attr, worker, &pl) != 0)
			break;
		started++;
	}
	pthread_attr_destroy(&attr);
	if (started == 0) {
		free(th);
		fprintf(stderr, "mxprobe: cannot start worker threads\n");
		return MX_EXIT_INTERNAL;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (out->progress)
		fputc('\n', stderr);
	if (pl.input_error) {
		fprintf(stderr, "mxprobe: %s\n", pl.input_msg);
		note_exit(&pl, MX_EXIT_USAGE);
	}
	pthread_mutex_destroy(&pl.in_mu);
	pthread_mutex_destroy(&pl.out_mu);
	return pl.worst;
}
