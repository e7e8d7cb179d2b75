/* logscan — which connections and messages went over TLS, read from mail logs.
 *
 * Reads Cisco ESA/AsyncOS, Postfix, Exim and Sendmail logs (detected per line), ties lines
 * of one connection and one message together and reports TLS success, failure and absence.
 * Orchestration only: parsing is in logscan_<format>.c, correlation in logscan_corr.c,
 * output in logscan_out.c.  With two or more CPUs a parser thread reads and parses while
 * the main thread correlates and writes (see run_all); LOGSCAN_THREADS=1 keeps one thread.
 */
#include "logscan_corr.h"
#include "logscan_input.h"
#include "logscan_out.h"
#include "logscan_parse.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FOUND = 1, EXIT_UNREADABLE = 3, EXIT_USAGE = 64, EXIT_INTERNAL = 70 };

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fputs("usage: logscan [options] [FILE...]   (no FILE or '-' reads stdin; .gz read transparently)\n"
	      "\n"
	      "Reads Cisco ESA/AsyncOS, Postfix, Exim and Sendmail mail logs and reports which connections\n"
	      "and messages used TLS. Without a listing option it prints summary tables.\n"
	      "\n"
	      "Listings (streamed, then the summary):\n"
	      "  --failed               connections whose TLS negotiation failed\n"
	      "  --no-tls               connections without TLS (with --messages: messages received or\n"
	      "                         delivered in clear)\n"
	      "  --messages             list messages (received over TLS? deliveries over TLS?)\n"
	      "  --required-failures    deliveries/receptions where TLS was required and not used, with cause\n"
	      "  --all                  every connection\n"
	      "Output:\n"
	      "  --json | --csv | --xml machine-readable output (default: aligned text tables)\n"
	      "  --tlsrpt               RFC 8460 aggregate report per policy domain (JSON, one per line)\n"
	      "  --org-name NAME --contact ADDR --sending-ip IP   fields of the TLS-RPT report\n"
	      "  --by hour|day          add time buckets to the summary\n"
	      "  --top N                rows in ranked tables (default 20, 0 = all)\n"
	      "Filters:\n"
	      "  --since T --until T    log time, 'YYYY-MM-DD[ HH:MM[:SS]]' (until is exclusive)\n"
	      "  --domain D             peer or destination domain (suffix match)\n"
	      "  --ip A                 peer address (exact, or a prefix ending in '.' or ':')\n"
	      "  --direction in|out\n"
	      "Input:\n"
	      "  --follow               keep reading the last file as it grows, across log rotation;\n"
	      "                         SIGINT/SIGTERM ends and prints the summary\n"
	      "  --year N               year for syslog timestamps (default: this year)\n"
	      "  --max-open N           open connections kept before the oldest is evicted (default 16384)\n"
	      "  --max-messages N       open messages kept (default 65536)\n"
	      "  -v                     print each line that could not be parsed to stderr\n"
	      "  -h, --help\n"
	      "\n"
	      "Exit status: 0 ok; 1 --failed or --required-failures found at least one; 3 an input file\n"
	      "could not be read; 64 usage error; 70 internal error (out of memory, write error).\n",
	      f);
}

/* "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS" or with 'T', as log time. */
static int parse_when(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *e = strptime(s, "%Y-%m-%d", &tm);
	if (!e)
		return -1;
	if (*e == ' ' || *e == 'T') {
		const char *e2 = strptime(e + 1, "%H:%M:%S", &tm);
		if (!e2)
			e2 = strptime(e + 1, "%H:%M", &tm);
		if (!e2)
			return -1;
		e = e2;
	}
	if (*e)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* Two threads: a parser (read, split, parse: everything per line) hands batches of events to
 * the main thread, which applies them to the correlation tables and the output in the same
 * order as a single pass would, so results are identical.  Events point into the reader's
 * buffers; a buffer goes back to the parser's pool once the batch that ends its use is done.
 * Memory: POOL_BUFS read buffers plus NBATCH batches of EVCAP events, fixed. */
enum { POOL_BUFS = 3, NBATCH = 4, EVCAP = 1024, PREFETCH_AHEAD = 6 };

struct batch {
	struct mt_ls_event *ev;
	uint32_t n;
	char *release; /* read buffer no later batch refers to, back to the pool after this one */
	bool last;     /* end of all input */
};

struct run {
	struct mt_ls_parse_opts po;
	struct mt_ls_corr corr;
	struct mt_ls_stats st; /* the parser's counters: read by main only after the join */
	int verbose;
	/* pipeline */
	pthread_mutex_t mu;
	pthread_cond_t cv_ready, cv_free;
	struct batch q[NBATCH];
	uint64_t produced, consumed; /* batches; q[i % NBATCH] */
	char *pool[POOL_BUFS];
	int npool;
	size_t bufsize;
	/* parser side */
	struct batch *cur;
	int bad;
	const char *const *files;
	int nfiles;
	bool follow;
	bool sync; /* one thread: batches are applied as soon as they are handed on */
};

/* Apply a batch's events in order, prefetching table slots a few events ahead. */
static void apply_batch(struct run *R, struct batch *b)
{
	uint32_t n = b->n;
	for (uint32_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		mt_ls_corr_prefetch(&R->corr, &b->ev[i]);
	for (uint32_t i = 0; i < n; i++) {
		if (i + PREFETCH_AHEAD < n)
			mt_ls_corr_prefetch(&R->corr, &b->ev[i + PREFETCH_AHEAD]);
		mt_ls_corr_event(&R->corr, &b->ev[i]);
	}
	if (b->release) {
		if (R->sync) {
			R->pool[R->npool++] = b->release;
		} else {
			pthread_mutex_lock(&R->mu);
			R->pool[R->npool++] = b->release;
			pthread_mutex_unlock(&R->mu);
		}
		b->release = NULL;
	}
}

static void q_publish(struct run *R, char *release, bool last)
{
	struct batch *b = R->cur;
	if (!b->n && !release && !last)
		return;
	b->release = release;
	b->last = last;
	if (R->sync) {
		apply_batch(R, b);
		b->n = 0;
		return;
	}
	pthread_mutex_lock(&R->mu);
	R->produced++;
	pthread_cond_signal(&R->cv_ready);
	while (!last && R->produced - R->consumed >= NBATCH)
		pthread_cond_wait(&R->cv_free, &R->mu);
	pthread_mutex_unlock(&R->mu);
	if (!last) {
		R->cur = &R->q[R->produced % NBATCH];
		R->cur->n = 0;
	}
}

static char *pool_get(struct run *R)
{
	if (R->sync)
		return R->pool[--R->npool];
	pthread_mutex_lock(&R->mu);
	while (!R->npool)
		pthread_cond_wait(&R->cv_free, &R->mu);
	char *b = R->pool[--R->npool];
	pthread_mutex_unlock(&R->mu);
	return b;
}

static int scan(struct run *R, const char *path, bool follow)
{
	struct mt_ls_reader r;
	struct mt_err err = {{0}};
	if (mt_ls_reader_open(&r, path, R->bufsize, follow, &g_stop, &err) != MT_OK) {
		fprintf(stderr, "logscan: %s\n", err.msg);
		R->st.unreadable++;
		return -1;
	}
	free(mt_ls_reader_swap(&r, pool_get(R))); /* the reader's own buffer is still untouched */
	R->st.files++;
	const char *line;
	size_t len;
	int rc;
	uint64_t lineno = 0;
	for (;;) {
		rc = mt_ls_reader_line(&r, &line, &len);
		if (rc == 1) {
			lineno++;
			struct batch *b = R->cur;
			struct mt_ls_event *ev = &b->ev[b->n];
			int res = mt_ls_parse_line(line, len, &R->po, ev);
			if (res == MT_LS_EVENT) {
				R->st.events++;
				mt_ls_corr_prepare(ev);
				if (++b->n == EVCAP)
					q_publish(R, NULL, false);
			} else if (res == MT_LS_IGNORED) {
				R->st.ignored++;
			} else {
				R->st.unparsed++;
				if (R->verbose)
					fprintf(stderr, "%s:%llu: unparsed: %.*s%s\n", path, (unsigned long long)lineno,
						(int)(len > 200 ? 200 : len), line, len > 200 ? "..." : "");
			}
			continue;
		}
		if (rc == 0)
			break;
		/* about to read, which may block (a pipe, --follow): hand on what is parsed */
		q_publish(R, NULL, false);
		if (r.end == r.cap && r.start)
			q_publish(R, mt_ls_reader_swap(&r, pool_get(R)), false); /* instead of moving lines */
		if (mt_ls_reader_fill(&r, &err) < 0) {
			rc = -1;
			break;
		}
	}
	q_publish(R, mt_ls_reader_swap(&r, NULL), false);
	R->st.lines += lineno;
	R->st.bytes += r.bytes;
	R->st.overlong += r.overlong;
	if (r.truncated) {
		fprintf(stderr, "logscan: %s\n", err.msg[0] ? err.msg : "truncated compressed input");
		R->st.truncated++;
	}
	mt_ls_reader_close(&r);
	if (rc < 0) {
		fprintf(stderr, "logscan: %s\n", err.msg);
		R->st.unreadable++;
		return -1;
	}
	return r.truncated ? -1 : 0;
}

static void *parser_main(void *arg)
{
	struct run *R = arg;
	if (R->nfiles == 0) {
		R->bad |= scan(R, "-", R->follow) != 0;
	} else {
		for (int i = 0; i < R->nfiles; i++)
			R->bad |= scan(R, R->files[i], R->follow && i == R->nfiles - 1) != 0;
	}
	q_publish(R, NULL, true);
	return NULL;
}

/* The main thread's side: apply every batch in order until the parser's last one. */
static void consume(struct run *R)
{
	for (;;) {
		pthread_mutex_lock(&R->mu);
		while (R->produced == R->consumed)
			pthread_cond_wait(&R->cv_ready, &R->mu);
		pthread_mutex_unlock(&R->mu);
		struct batch *b = &R->q[R->consumed % NBATCH];
		bool last = b->last;
		apply_batch(R, b);
		pthread_mutex_lock(&R->mu);
		R->consumed++;
		pthread_cond_broadcast(&R->cv_free);
		pthread_mutex_unlock(&R->mu);
		if (last)
			return;
	}
}

/* Run the pipeline over the files (none = stdin); returns non-zero when an input was bad. */
static int run_all(struct run *R, const char *const *files, int nfiles, bool follow, size_t bufsize)
{
	int ret = -1;
	R->files = files;
	R->nfiles = nfiles;
	R->follow = follow;
	R->bufsize = bufsize;
	pthread_mutex_init(&R->mu, NULL);
	pthread_cond_init(&R->cv_ready, NULL);
	pthread_cond_init(&R->cv_free, NULL);
	for (int i = 0; i < NBATCH; i++)
		if (!(R->q[i].ev = malloc(EVCAP * sizeof *R->q[i].ev)))
			goto out;
	for (; R->npool < POOL_BUFS; R->npool++)
		if (!(R->pool[R->npool] = malloc(bufsize)))
			goto out;
	R->cur = &R->q[0];
	/* LOGSCAN_THREADS=1 forces one thread (also the fallback on one CPU) */
	const char *env = getenv("LOGSCAN_THREADS");
	R->sync = env ? atoi(env) == 1 : sysconf(_SC_NPROCESSORS_ONLN) < 2;
	pthread_t th;
	if (!R->sync && pthread_create(&th, NULL, parser_main, R) != 0)
		R->sync = true;
	if (R->sync) {
		parser_main(R);
	} else {
		consume(R);
		pthread_join(th, NULL);
	}
	ret = R->bad;
out:
	for (int i = 0; i < NBATCH; i++)
		free(R->q[i].ev);
	for (int i = 0; i < R->npool; i++)
		free(R->pool[i]);
	pthread_mutex_destroy(&R->mu);
	pthread_cond_destroy(&R->cv_ready);
	pthread_cond_destroy(&R->cv_free);
	return ret;
}

int main(int argc, char **argv)
{
	enum {
		O_JSON = 256, O_CSV, O_XML, O_TLSRPT, O_ORG, O_CONTACT, O_SIP, O_FAILED, O_NOTLS, O_MSGS, O_REQ, O_ALL,
		O_BY, O_SINCE, O_UNTIL, O_DOMAIN, O_IP, O_DIR, O_FOLLOW, O_YEAR, O_MAXOPEN, O_MAXMSG, O_TOP,
	};
	static const struct option longopts[] = {
	    {"json", no_argument, 0, O_JSON},
	    {"csv", no_argument, 0, O_CSV},
	    {"xml", no_argument, 0, O_XML},
	    {"tlsrpt", no_argument, 0, O_TLSRPT},
	    {"org-name", required_argument, 0, O_ORG},
	    {"contact", required_argument, 0, O_CONTACT},
	    {"sending-ip", required_argument, 0, O_SIP},
	    {"failed", no_argument, 0, O_FAILED},
	    {"no-tls", no_argument, 0, O_NOTLS},
	    {"messages", no_argument, 0, O_MSGS},
	    {"required-failures", no_argument, 0, O_REQ},
	    {"all", no_argument, 0, O_ALL},
	    {"by", required_argument, 0, O_BY},
	    {"since", required_argument, 0, O_SINCE},
	    {"until", required_argument, 0, O_UNTIL},
	    {"domain", required_argument, 0, O_DOMAIN},
	    {"ip", required_argument, 0, O_IP},
	    {"direction", required_argument, 0, O_DIR},
	    {"follow", no_argument, 0, O_FOLLOW},
	    {"year", required_argument, 0, O_YEAR},
	    {"max-open", required_argument, 0, O_MAXOPEN},
	    {"max-messages", required_argument, 0, O_MAXMSG},
	    {"top", required_argument, 0, O_TOP},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int format = MT_LS_OUT_TEXT, by = MT_LS_BY_NONE, top = 20, verbose = 0;
	bool l_failed = false, l_notls = false, l_msgs = false, l_req = false, l_all = false, follow = false;
	struct mt_ls_filter filt = {0};
	struct mt_ls_tlsrpt_opts ro = {0};
	long year = 0, max_open = 16384, max_msgs = 65536;
	int c;
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case O_JSON: format = MT_LS_OUT_JSON; break;
		case O_CSV: format = MT_LS_OUT_CSV; break;
		case O_XML: format = MT_LS_OUT_XML; break;
		case O_TLSRPT: format = MT_LS_OUT_TLSRPT; break;
		case O_ORG: ro.org = optarg; break;
		case O_CONTACT: ro.contact = optarg; break;
		case O_SIP: ro.sending_ip = optarg; break;
		case O_FAILED: l_failed = true; break;
		case O_NOTLS: l_notls = true; break;
		case O_MSGS: l_msgs = true; break;
		case O_REQ: l_req = true; break;
		case O_ALL: l_all = true; break;
		case O_FOLLOW: follow = true; break;
		case O_BY:
			if (!strcmp(optarg, "hour"))
				by = MT_LS_BY_HOUR;
			else if (!strcmp(optarg, "day"))
				by = MT_LS_BY_DAY;
			else {
				fprintf(stderr, "logscan: --by takes hour or day, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_SINCE:
		case O_UNTIL:
			if (parse_when(optarg, c == O_SINCE ? &filt.since : &filt.until) != 0) {
				fprintf(stderr, "logscan: cannot read time '%s' (use YYYY-MM-DD[ HH:MM[:SS]])\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_DOMAIN: filt.domain = optarg; break;
		case O_IP: filt.ip = optarg; break;
		case O_DIR:
			if (!strcmp(optarg, "in"))
				filt.dir = MT_LS_DIR_IN;
			else if (!strcmp(optarg, "out"))
				filt.dir = MT_LS_DIR_OUT;
			else {
				fprintf(stderr, "logscan: --direction takes in or out, not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_YEAR:
		case O_MAXOPEN:
		case O_MAXMSG:
		case O_TOP: {
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 100000000 ||
			    ((c == O_MAXOPEN || c == O_MAXMSG) && v < 16) || (c == O_YEAR && (v < 1970 || v > 9999))) {
				fprintf(stderr, "logscan: bad number '%s'\n", optarg);
				return EXIT_USAGE;
			}
			if (c == O_YEAR)
				year = v;
			else if (c == O_MAXOPEN)
				max_open = v;
			else if (c == O_MAXMSG)
				max_msgs = v;
			else
				top = (int)v;
			break;
		}
		case 'v': verbose++; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (filt.since && filt.until && filt.until <= filt.since) {
		fprintf(stderr, "logscan: --until must be after --since\n");
		return EXIT_USAGE;
	}
	if (!year) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		year = tm.tm_year + 1900;
	}

	struct mt_ls_out out;
	if (mt_ls_out_init(&out, stdout, format, by, 100000) != 0) {
		fprintf(stderr, "logscan: out of memory\n");
		return EXIT_INTERNAL;
	}
	out.list_failed = l_failed;
	out.list_notls = l_notls;
	out.list_msgs = l_msgs;
	out.list_reqfail = l_req;
	out.list_all = l_all;
	out.top = top;
	out.filt = filt;
	out.rpt_opts = ro;

	static struct run R;
	R.po.year = (int)year;
	R.verbose = verbose;
	struct mt_ls_sink sink = mt_ls_out_sink(&out);
	if (mt_ls_corr_init(&R.corr, (uint32_t)max_open, (uint32_t)max_msgs, &sink) != 0) {
		fprintf(stderr, "logscan: out of memory\n");
		mt_ls_out_free(&out);
		return EXIT_INTERNAL;
	}
	if (follow) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		setvbuf(stdout, NULL, _IOLBF, 0);
	}

	const size_t bufsize = 4u << 20; /* also the longest line kept whole */
	int bad = run_all(&R, (const char *const *)argv + optind, argc - optind, follow, bufsize);
	if (bad < 0) {
		fprintf(stderr, "logscan: out of memory\n");
		mt_ls_corr_free(&R.corr);
		mt_ls_out_free(&out);
		return EXIT_INTERNAL;
	}
	mt_ls_corr_flush(&R.corr);
	R.st.evicted_conns = R.corr.evicted_conns;
	R.st.evicted_msgs = R.corr.evicted_msgs;
	R.st.reused_ids = R.corr.reused_ids;
	int werr = mt_ls_out_finish(&out, &R.st);
	uint64_t found = (l_failed ? out.listed_failed : 0) + (l_req ? out.listed_reqfail : 0);
	mt_ls_out_free(&out);
	mt_ls_corr_free(&R.corr);
	if (werr != 0) {
		fprintf(stderr, "logscan: write error on output\n");
		return EXIT_INTERNAL;
	}
	if (bad)
		return EXIT_UNREADABLE;
	return found ? EXIT_FOUND : EXIT_OK;
}
