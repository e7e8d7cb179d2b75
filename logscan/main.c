/* logscan — which connections and messages went over TLS, read from mail logs.
 *
 * Reads Cisco ESA/AsyncOS, Postfix, Exim and Sendmail logs (detected per line), ties lines
 * of one connection and one message together and reports TLS success, failure and absence.
 * Orchestration only: parsing is in logscan_<format>.c, correlation in logscan_corr.c,
 * output in logscan_out.c.  With two or more CPUs two threads parse blocks of lines in
 * parallel and apply them in input order (see run_all); LOGSCAN_THREADS=1 keeps one thread.
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
	      "Reads Cisco ESA/AsyncOS (mail_logs and consolidated event logs), Postfix, Exim and Sendmail\n"
	      "mail logs and reports which connections and messages used TLS. Without a listing option it\n"
	      "prints summary tables.\n"
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
	      "  --loopback-local       a message received or delivered in clear over loopback (127.0.0.0/8,\n"
	      "                         ::1: a content filter, a local webmail) is local, not a hop in clear;\n"
	      "                         such connections are counted apart, out of the TLS rates\n"
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

/* Parse in parallel, apply in order.  Each worker thread (the main thread and, with two or
 * more CPUs, one helper) repeats: take the next block of lines from the reader (in turn, so
 * blocks are numbered in input order), parse it into events on its own, then wait for its
 * block's turn and apply the events to the correlation tables and the output.  Events are
 * applied in input order exactly as a single pass would apply them, so results are
 * identical; parsing, about half the work, runs on both CPUs, and each block's lines and
 * events stay in the cache of the CPU that parsed them.
 *
 * Lines are slices of the reader's buffers.  A block never spans two buffers: the reader is
 * only refilled at the start of a block, and a buffer due for recycling (see
 * mt_ls_reader_recycle) is swapped for one from a pool of POOL_BUFS instead of being moved;
 * the old one returns to the pool once the block that swapped it is applied (every block
 * referring to it comes before).  Memory is fixed:
 * POOL_BUFS read buffers plus, per worker, BLOCK_LINES line slices and events (4096 x ~290
 * bytes: fewer turn hand-overs, each a futex wait/wake, while a block still fits in L2). */
enum { NWORKERS = 2, POOL_BUFS = 3, BLOCK_LINES = 4096, PREFETCH_AHEAD = 6 };

#define lref mt_ls_line

/* Each worker's own: aligned so the two never share a cache line (their counters change
 * on every line; sharing a line made them bounce between the CPUs). */
struct worker {
	_Alignas(128) struct lref *ln;
	struct mt_ls_event *ev;
	uint32_t *unp; /* indexes in ln of unparsed lines, reported (-v) when applied */
	uint32_t nln, nev, nunp;
	char *release; /* buffer retired while taking this block */
	bool mapped;   /* the block's lines are in the reader's map (released once applied) */
	uint64_t seq, lineno0;
	uint64_t events, ignored, unparsed;
};

struct run {
	struct mt_ls_parse_opts po;
	struct mt_ls_corr corr;
	struct mt_ls_stats st;
	int verbose;
	pthread_mutex_t mu;  /* turns, pool, file generations */
	pthread_cond_t cv;   /* any of those changed */
	pthread_mutex_t rmu; /* the reader: held while a block is taken */
	uint64_t next_seq, next_apply;
	char *pool[POOL_BUFS];
	int npool;
	size_t bufsize;
	bool may_map; /* map plain files (LOGSCAN_MMAP=0: read them, to compare) */
	struct worker w[NWORKERS];
	int nworkers;
	/* the file being read */
	struct mt_ls_reader r;
	struct mt_err ferr;
	const char *fpath;
	uint64_t flineno;
	bool fdone;
	int frc;
	/* helper thread: runs work_file once per generation */
	uint64_t gen, helper_done;
	bool quit;
};

static char *pool_get(struct run *R)
{
	pthread_mutex_lock(&R->mu);
	while (!R->npool)
		pthread_cond_wait(&R->cv, &R->mu);
	char *b = R->pool[--R->npool];
	pthread_mutex_unlock(&R->mu);
	return b;
}

/* Take the next block of lines, up to BLOCK_LINES or the end of what is buffered (reading
 * more only when nothing is taken yet, so lines are handed on before a read that may block:
 * a pipe, --follow).  Returns true when the file has ended. */
static bool take_block(struct run *R, struct worker *W)
{
	W->nln = 0;
	W->release = NULL;
	pthread_mutex_lock(&R->rmu);
	W->seq = R->next_seq++;
	W->lineno0 = R->flineno;
	while (!R->fdone && W->nln < BLOCK_LINES) {
		W->nln += (uint32_t)mt_ls_reader_lines(&R->r, W->ln + W->nln, BLOCK_LINES - W->nln);
		if (W->nln == BLOCK_LINES)
			break;
		const char *line;
		size_t len;
		int rc = mt_ls_reader_line(&R->r, &line, &len);
		if (rc == 1) {
			W->ln[W->nln++] = (struct lref){line, len};
			continue;
		}
		if (rc == 0) {
			R->fdone = true;
			break;
		}
		if (W->nln)
			break;
		if (mt_ls_reader_recycle(&R->r)) /* at most once: no line is taken yet */
			W->release = mt_ls_reader_swap(&R->r, pool_get(R));
		if (mt_ls_reader_fill(&R->r, &R->ferr) < 0) {
			R->frc = -1;
			R->fdone = true;
		}
	}
	R->flineno += W->nln;
	W->mapped = R->r.mapped && W->nln;
	bool done = R->fdone;
	pthread_mutex_unlock(&R->rmu);
	return done;
}

static void parse_block(struct run *R, struct worker *W)
{
	uint32_t nunp = 0;
	uint64_t ignored = 0;
	uint32_t nev = mt_ls_parse_lines(W->ln, W->nln, &R->po, W->ev, W->unp, &nunp, &ignored);
	for (uint32_t i = 0; i < nev; i++)
		mt_ls_corr_prepare(&W->ev[i]);
	W->nev = nev;
	W->nunp = nunp;
	W->events += nev;
	W->ignored += ignored;
	W->unparsed += nunp;
}

/* Wait for the block's turn, apply its events (prefetching table slots a few events
 * ahead), report its unparsed lines, pass the turn on. */
static void apply_block(struct run *R, struct worker *W)
{
	if (R->nworkers > 1) {
		pthread_mutex_lock(&R->mu);
		while (R->next_apply != W->seq)
			pthread_cond_wait(&R->cv, &R->mu);
		pthread_mutex_unlock(&R->mu);
	}
	/* two stages: the table slot PREFETCH_AHEAD * 2 events ahead, then (the slot now in the
	 * cache says where) the record itself PREFETCH_AHEAD ahead */
	uint32_t n = W->nev;
	for (uint32_t i = 0; i < n && i < 2 * PREFETCH_AHEAD; i++)
		mt_ls_corr_prefetch(&R->corr, &W->ev[i]);
	for (uint32_t i = 0; i < n && i < PREFETCH_AHEAD; i++)
		mt_ls_corr_prefetch_entry(&R->corr, &W->ev[i]);
	for (uint32_t i = 0; i < n; i++) {
		if (i + 2 * PREFETCH_AHEAD < n)
			mt_ls_corr_prefetch(&R->corr, &W->ev[i + 2 * PREFETCH_AHEAD]);
		if (i + PREFETCH_AHEAD < n)
			mt_ls_corr_prefetch_entry(&R->corr, &W->ev[i + PREFETCH_AHEAD]);
		mt_ls_corr_event(&R->corr, &W->ev[i]);
	}
	if (R->verbose)
		for (uint32_t k = 0; k < W->nunp; k++) {
			const struct lref *l = &W->ln[W->unp[k]];
			fprintf(stderr, "%s:%llu: unparsed: %.*s%s\n", R->fpath,
				(unsigned long long)(W->lineno0 + W->unp[k] + 1), (int)(l->n > 200 ? 200 : l->n), l->p,
				l->n > 200 ? "..." : "");
		}
	if (W->mapped) {
		/* blocks are applied in order: every line up to this block's last is done with (a
		 * mapped block's reader lock is never held across a blocking read) */
		const struct lref *l = &W->ln[W->nln - 1];
		pthread_mutex_lock(&R->rmu);
		mt_ls_reader_release(&R->r, l->p + l->n);
		pthread_mutex_unlock(&R->rmu);
	}
	pthread_mutex_lock(&R->mu);
	if (W->release)
		R->pool[R->npool++] = W->release;
	W->release = NULL;
	R->next_apply++;
	pthread_cond_broadcast(&R->cv);
	pthread_mutex_unlock(&R->mu);
}

static void work_file(struct run *R, struct worker *W)
{
	bool done;
	do {
		done = take_block(R, W);
		parse_block(R, W);
		apply_block(R, W);
	} while (!done);
}

static void *helper_main(void *arg)
{
	struct run *R = arg;
	uint64_t seen = 0;
	pthread_mutex_lock(&R->mu);
	for (;;) {
		while (R->gen == seen && !R->quit)
			pthread_cond_wait(&R->cv, &R->mu);
		if (R->quit)
			break;
		seen = R->gen;
		pthread_mutex_unlock(&R->mu);
		work_file(R, &R->w[1]);
		pthread_mutex_lock(&R->mu);
		R->helper_done = seen;
		pthread_cond_broadcast(&R->cv);
	}
	pthread_mutex_unlock(&R->mu);
	return NULL;
}

static int scan(struct run *R, const char *path, bool follow)
{
	struct mt_ls_reader *r = &R->r;
	struct mt_err err = {{0}};
	if (mt_ls_reader_open(r, path, R->bufsize, follow, R->may_map, &g_stop, &err) != MT_OK) {
		fprintf(stderr, "logscan: %s\n", err.msg);
		R->st.unreadable++;
		return -1;
	}
	free(mt_ls_reader_swap(r, pool_get(R))); /* the reader's own buffer is still untouched */
	R->st.files++;
	R->fpath = path;
	R->flineno = 0;
	R->fdone = false;
	R->frc = 0;
	memset(&R->ferr, 0, sizeof R->ferr);
	if (R->nworkers > 1) {
		pthread_mutex_lock(&R->mu);
		R->gen++;
		pthread_cond_broadcast(&R->cv);
		pthread_mutex_unlock(&R->mu);
	}
	work_file(R, &R->w[0]);
	if (R->nworkers > 1) {
		pthread_mutex_lock(&R->mu);
		while (R->helper_done != R->gen)
			pthread_cond_wait(&R->cv, &R->mu);
		pthread_mutex_unlock(&R->mu);
	}
	/* every block is applied: the reader's buffer goes back to the pool */
	R->pool[R->npool++] = mt_ls_reader_swap(r, NULL);
	R->st.lines += R->flineno;
	R->st.bytes += r->bytes;
	R->st.overlong += r->overlong;
	bool truncated = r->truncated;
	if (mt_ls_reader_map_failed(r)) {
		snprintf(R->ferr.msg, sizeof R->ferr.msg, "%s: %s", path, MT_LS_MAP_FAILED);
		truncated = true;
	}
	if (truncated) {
		fprintf(stderr, "logscan: %s\n", R->ferr.msg[0] ? R->ferr.msg : "truncated compressed input");
		R->st.truncated++;
	}
	mt_ls_reader_close(r);
	if (R->frc < 0) {
		fprintf(stderr, "logscan: %s\n", R->ferr.msg);
		R->st.unreadable++;
		return -1;
	}
	return truncated ? -1 : 0;
}

/* Read the files (none = stdin) through the workers; returns non-zero when an input was
 * bad, -1 when out of memory. */
static int run_all(struct run *R, const char *const *files, int nfiles, bool follow, size_t bufsize)
{
	int ret = -1, bad = 0;
	R->bufsize = bufsize;
	pthread_mutex_init(&R->mu, NULL);
	pthread_mutex_init(&R->rmu, NULL);
	pthread_cond_init(&R->cv, NULL);
	for (int i = 0; i < NWORKERS; i++) {
		struct worker *W = &R->w[i];
		W->ln = malloc(BLOCK_LINES * sizeof *W->ln);
		W->ev = malloc(BLOCK_LINES * sizeof *W->ev);
		W->unp = malloc(BLOCK_LINES * sizeof *W->unp);
		if (!W->ln || !W->ev || !W->unp)
			goto out;
	}
	for (; R->npool < POOL_BUFS; R->npool++)
		if (!(R->pool[R->npool] = calloc(1, bufsize + MT_LS_PAD)))
			goto out;
	/* LOGSCAN_THREADS=1 keeps everything in the main thread (also the case on one CPU) */
	const char *mm = getenv("LOGSCAN_MMAP");
	R->may_map = !(mm && strcmp(mm, "0") == 0);
	const char *env = getenv("LOGSCAN_THREADS");
	R->nworkers = (env ? atoi(env) == 1 : sysconf(_SC_NPROCESSORS_ONLN) < 2) ? 1 : NWORKERS;
	pthread_t th;
	if (R->nworkers > 1 && pthread_create(&th, NULL, helper_main, R) != 0)
		R->nworkers = 1;
	if (nfiles == 0) {
		bad |= scan(R, "-", follow) != 0;
	} else {
		for (int i = 0; i < nfiles; i++)
			bad |= scan(R, files[i], follow && i == nfiles - 1) != 0;
	}
	if (R->nworkers > 1) {
		pthread_mutex_lock(&R->mu);
		R->quit = true;
		pthread_cond_broadcast(&R->cv);
		pthread_mutex_unlock(&R->mu);
		pthread_join(th, NULL);
	}
	for (int i = 0; i < NWORKERS; i++) {
		R->st.events += R->w[i].events;
		R->st.ignored += R->w[i].ignored;
		R->st.unparsed += R->w[i].unparsed;
	}
	ret = bad;
out:
	for (int i = 0; i < NWORKERS; i++) {
		free(R->w[i].ln);
		free(R->w[i].ev);
		free(R->w[i].unp);
	}
	for (int i = 0; i < R->npool; i++)
		free(R->pool[i]);
	pthread_mutex_destroy(&R->mu);
	pthread_mutex_destroy(&R->rmu);
	pthread_cond_destroy(&R->cv);
	return ret;
}

int main(int argc, char **argv)
{
	enum {
		O_JSON = 256, O_CSV, O_XML, O_TLSRPT, O_ORG, O_CONTACT, O_SIP, O_FAILED, O_NOTLS, O_MSGS, O_REQ, O_ALL,
		O_BY, O_SINCE, O_UNTIL, O_DOMAIN, O_IP, O_DIR, O_FOLLOW, O_YEAR, O_MAXOPEN, O_MAXMSG, O_TOP, O_LOOP,
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
	    {"loopback-local", no_argument, 0, O_LOOP},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int format = MT_LS_OUT_TEXT, by = MT_LS_BY_NONE, top = 20, verbose = 0;
	bool l_failed = false, l_notls = false, l_msgs = false, l_req = false, l_all = false, follow = false;
	bool loopback_local = false;
	struct mt_ls_filter filt = {0};
	struct mt_tlsrpt_report_opts ro = {.generator = "logscan"};
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
		case O_LOOP: loopback_local = true; break;
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
	R.po.padded = true; /* every line comes from a reader buffer */
	R.verbose = verbose;
	struct mt_ls_sink sink = mt_ls_out_sink(&out);
	if (mt_ls_corr_init(&R.corr, (uint32_t)max_open, (uint32_t)max_msgs, &sink) != 0) {
		fprintf(stderr, "logscan: out of memory\n");
		mt_ls_out_free(&out);
		return EXIT_INTERNAL;
	}
	R.corr.loopback_local = loopback_local;
	out.loopback_local = loopback_local;
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
