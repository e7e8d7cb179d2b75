/* relay — deliver outbound mail under per-destination TLS policy (the ESA's destination
 * controls), enforced by the same verifier checktls and mxprobe report with.
 * The program is thin: argument parsing and the small subcommands; the queue, delivery
 * and runner live in relay_*.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "relay.h"

#define DEFAULT_CONFIG "/etc/mailtls/relay.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: relay [-c FILE] [-q DIR] [-v] [--once]           run the queue\n"
		"       relay [-c FILE] [-q DIR] inject --from ADDR --to ADDR [--to ADDR]... < message\n"
		"       relay [-c FILE] [-q DIR] -t [-f ADDR] [-i] [ADDR...] < message   (sendmail)\n"
		"       relay [-c FILE] [-q DIR] queue [--json]\n"
		"       relay [-c FILE] [-q DIR] flush\n"
		"       relay [-c FILE] [-q DIR] delete MID\n"
		"       relay [-c FILE] [-q DIR] destinations\n"
		"\n"
		"  -c, --config FILE   configuration (default " DEFAULT_CONFIG " when it exists)\n"
		"  -q, --queue DIR     queue directory (overrides queue_dir)\n"
		"      --once          try every queued message once now, then exit\n"
		"  -v, --verbose       each delivery attempt's SMTP/TLS transcript on stderr\n"
		"  -t                  read recipients from To:, Cc: and Bcc: (Bcc: is removed)\n"
		"  -f ADDR             envelope sender for -t (default: you@hostname)\n"
		"      --copies N      inject: queue the message N times (load tests)\n"
		"  -h, --help          this text\n"
		"\n"
		"Destination controls (destination = DOMAIN tls=POLICY ...): None, Preferred,\n"
		"Required, Preferred-Verify, Required-Verify, or none may encrypt dane dane-only\n"
		"verify secure. See relay(8).\n"
		"Exit: 0 ok, 64 usage/config, 65 bad message, 69 no such MID, 70 internal,\n"
		"73 cannot write the queue, 75 temporary (busy, no runner).\n");
}

static int die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("relay: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

/* The pid of the runner of this queue, or 0 when none runs: relay.pid is believed only while
 * relay.lock is held, so a stale pid file left by a killed runner never gets a signal sent to
 * whatever process has that pid now. */
static int runner_pid(const struct rl_config *c)
{
	char p[700];
	snprintf(p, sizeof p, "%s/relay.lock", c->queue_dir);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd); /* releases the shared lock if it was taken */
	if (!held)
		return 0;
	snprintf(p, sizeof p, "%s/relay.pid", c->queue_dir);
	FILE *f = fopen(p, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1 || pid <= 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

static void notify_runner(const struct rl_config *c, int sig)
{
	int pid = runner_pid(c);
	if (pid)
		kill(pid, sig);
}

static void log_injected(uint64_t mid, const char *from, const char *const *rcpts, size_t n)
{
	rl_maillog("Info", "Start MID %" PRIu64 " ICID 0", mid);
	rl_maillog("Info", "MID %" PRIu64 " ICID 0 From: <%s>", mid, from);
	for (size_t i = 0; i < n; i++)
		rl_maillog("Info", "MID %" PRIu64 " ICID 0 RID %zu To: <%s>", mid, i, rcpts[i]);
}

static int queue_status(mt_status st)
{
	return st == MT_ERR_BADINPUT ? RL_EXIT_DATAERR
	       : st == MT_ERR_NOMEM  ? RL_EXIT_SOFTWARE
				     : RL_EXIT_CANTCREAT;
}

static int cmd_inject(struct rl_config *c, const char *from, const char **rcpts, size_t n,
		      unsigned copies)
{
	if (!from)
		return die(RL_EXIT_USAGE, "inject: --from ADDR is required (--from '' for the null sender)");
	if (!rl_addr_ok(from, true))
		return die(RL_EXIT_DATAERR, "inject: bad sender address '%s'", from);
	if (n == 0)
		return die(RL_EXIT_DATAERR, "inject: no recipients (give --to ADDR)");
	for (size_t i = 0; i < n; i++)
		if (!rl_addr_ok(rcpts[i], false))
			return die(RL_EXIT_DATAERR, "inject: bad recipient address '%s'", rcpts[i]);
	struct mt_err err;
	if (rl_queue_init(c->queue_dir, &err) != MT_OK)
		return die(RL_EXIT_CANTCREAT, "%s", err.msg);
	uint64_t mid;
	mt_status st;
	if (copies == 1) {
		st = rl_queue_put(c->queue_dir, 0, from, rcpts, n, 0, &mid, &err);
		if (st != MT_OK)
			return die(queue_status(st), "inject: %s", err.msg);
	}
	bool logging = rl_log_open(c, &err) == MT_OK;
	if (copies == 1) {
		if (logging)
			log_injected(mid, from, rcpts, n);
	} else {
		/* --copies: the same message queued N times (load tests, benchmarks) */
		char *data = NULL;
		size_t len = 0;
		st = mt_file_read("/dev/stdin", 256u << 20, &data, &len, &err);
		if (st != MT_OK) {
			rl_log_close();
			return die(RL_EXIT_DATAERR, "inject: %s", err.msg);
		}
		for (unsigned i = 0; i < copies; i++) {
			st = rl_queue_put_mem(c->queue_dir, data, len, from, rcpts, n, 0, &mid, &err);
			if (st != MT_OK) {
				free(data);
				rl_log_close();
				return die(queue_status(st), "inject: copy %u: %s", i + 1, err.msg);
			}
			if (logging)
				log_injected(mid, from, rcpts, n);
		}
		free(data);
	}
	rl_log_close();
	notify_runner(c, SIGUSR2);
	if (copies > 1)
		printf("queued %u copies, last MID %" PRIu64 "\n", copies, mid);
	else
		printf("queued MID %" PRIu64 "\n", mid);
	return RL_EXIT_OK;
}

/* ---- -t: recipients from the header ---- */

static int cmd_t(struct rl_config *c, const char *from, char **extra, size_t nextra)
{
	/* read the whole message (capped) */
	size_t cap = 1 << 16, len = 0, max = 256u << 20;
	char *buf = malloc(cap);
	if (!buf)
		return die(RL_EXIT_SOFTWARE, "out of memory");
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				free(buf);
				return die(RL_EXIT_DATAERR, "-t: message larger than %zu MB", max >> 20);
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return die(RL_EXIT_SOFTWARE, "out of memory");
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(0, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return die(RL_EXIT_DATAERR, "-t: reading the message: %s", strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* walk the header: collect To/Cc/Bcc (with folded lines), drop Bcc */
	struct rl_addrs a = {0};
	char *out = malloc(len + 1);
	size_t olen = 0, pos = 0;
	int rc = RL_EXIT_OK;
	if (!out) {
		free(buf);
		return die(RL_EXIT_SOFTWARE, "out of memory");
	}
	while (pos < len) {
		size_t e = pos;
		while (e < len && buf[e] != '\n')
			e++;
		size_t ll = e - pos; /* without LF */
		size_t l2 = ll && buf[pos + ll - 1] == '\r' ? ll - 1 : ll;
		if (l2 == 0) /* end of header */
			break;
		/* the field with its continuation lines */
		size_t fe = e < len ? e + 1 : e;
		while (fe < len && (buf[fe] == ' ' || buf[fe] == '\t')) {
			while (fe < len && buf[fe] != '\n')
				fe++;
			if (fe < len)
				fe++;
		}
		const char *f = buf + pos;
		bool is_bcc = !strncasecmp(f, "Bcc:", 4);
		int which = !strncasecmp(f, "To:", 3) ? 3 : !strncasecmp(f, "Cc:", 3) ? 3 : is_bcc ? 4 : 0;
		if (which) {
			char *v = strndup(f + which, fe - pos - (size_t)which);
			if (!v || !rl_parse_addr_list(v, &a)) {
				free(v);
				rc = die(RL_EXIT_SOFTWARE, "out of memory");
				goto done;
			}
			free(v);
		}
		if (!is_bcc) {
			memcpy(out + olen, f, fe - pos);
			olen += fe - pos;
		}
		pos = fe;
	}
	memcpy(out + olen, buf + pos, len - pos);
	olen += len - pos;
	for (size_t i = 0; i < nextra; i++)
		if (!rl_addrs_add(&a, extra[i], strlen(extra[i]))) {
			rc = die(RL_EXIT_SOFTWARE, "out of memory");
			goto done;
		}
	if (a.n == 0) {
		rc = die(RL_EXIT_DATAERR, "-t: no recipients in To:, Cc: or Bcc:");
		goto done;
	}
	for (size_t i = 0; i < a.n; i++)
		if (!rl_addr_ok(a.v[i], false)) {
			rc = die(RL_EXIT_DATAERR, "-t: bad recipient address '%s'", a.v[i]);
			goto done;
		}
	char deffrom[600];
	if (!from) {
		struct passwd *pw = getpwuid(getuid());
		snprintf(deffrom, sizeof deffrom, "%s@%s", pw ? pw->pw_name : "root", c->hostname);
		from = deffrom;
	}
	if (!rl_addr_ok(from, true)) {
		rc = die(RL_EXIT_DATAERR, "-f: bad sender address '%s'", from);
		goto done;
	}
	struct mt_err err;
	uint64_t mid;
	if (rl_queue_init(c->queue_dir, &err) != MT_OK) {
		rc = die(RL_EXIT_CANTCREAT, "%s", err.msg);
		goto done;
	}
	mt_status st = rl_queue_put_mem(c->queue_dir, out, olen, from, (const char *const *)a.v, a.n,
					0, &mid, &err);
	if (st != MT_OK) {
		rc = die(queue_status(st), "%s", err.msg);
		goto done;
	}
	if (rl_log_open(c, &err) == MT_OK) {
		log_injected(mid, from, (const char *const *)a.v, a.n);
		rl_log_close();
	}
	notify_runner(c, SIGUSR2);
	printf("queued MID %" PRIu64 "\n", mid);
done:
	rl_addrs_free(&a);
	free(out);
	free(buf);
	return rc;
}

/* ---- queue, flush, delete, destinations ---- */

static const char *state_name(enum rl_rcpt_state s)
{
	return s == RL_RCPT_DONE ? "done" : s == RL_RCPT_FAILED ? "failed" : "pending";
}

static int cmd_queue(struct rl_config *c, bool json)
{
	uint64_t *mids;
	size_t n;
	struct mt_err err;
	if (access(c->queue_dir, F_OK) != 0) {
		if (!json)
			printf("queue %s is empty (it does not exist yet)\n", c->queue_dir);
		return RL_EXIT_OK;
	}
	if (rl_queue_list(c->queue_dir, &mids, &n, &err) != MT_OK)
		return die(RL_EXIT_CANTCREAT, "%s", err.msg);
	time_t now = time(NULL);
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		struct rl_msg m;
		if (rl_queue_load(c->queue_dir, mids[i], &m, &err) != MT_OK)
			continue; /* delivered meanwhile */
		shown++;
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "mid", json_integer((json_int_t)m.mid));
			json_object_set_new(o, "from", json_string(m.from));
			json_object_set_new(o, "size", json_integer(m.size));
			json_object_set_new(o, "age", json_integer(now - m.created));
			json_object_set_new(o, "attempts", json_integer(m.attempts));
			json_object_set_new(o, "next_try", json_integer(m.next_try));
			json_object_set_new(o, "last", json_string(m.last));
			json_t *rs = json_array();
			for (size_t k = 0; k < m.nrcpts; k++) {
				json_t *r = json_object();
				json_object_set_new(r, "to", json_string(m.rcpts[k].addr));
				json_object_set_new(r, "state", json_string(state_name(m.rcpts[k].state)));
				json_object_set_new(r, "reply", json_string(m.rcpts[k].reply));
				json_array_append_new(rs, r);
			}
			json_object_set_new(o, "rcpts", rs);
			char *s = json_dumps(o, JSON_COMPACT);
			if (s)
				puts(s);
			free(s);
			json_decref(o);
		} else {
			if (shown == 1)
				printf("%-10s %6s %8s %8s  %s\n", "MID", "age", "size", "tries",
				       "sender / recipients");
			printf("%-10" PRIu64 " %5lds %8ld %8u  <%s>%s%s\n", m.mid, (long)(now - m.created),
			       m.size, m.attempts, m.from, m.is_alert ? " (TLS alert)" : "",
			       m.is_dsn ? " (DSN)" : "");
			for (size_t k = 0; k < m.nrcpts; k++)
				printf("%36s  -> <%s> %s%s%s\n", "", m.rcpts[k].addr,
				       state_name(m.rcpts[k].state), m.rcpts[k].reply[0] ? ": " : "",
				       m.rcpts[k].reply);
			if (m.next_try > now)
				printf("%36s  next try in %lds\n", "", (long)(m.next_try - now));
		}
		rl_msg_free(&m);
	}
	if (!json)
		printf("%zu message%s queued\n", shown, shown == 1 ? "" : "s");
	free(mids);
	return RL_EXIT_OK;
}

static int cmd_flush(struct rl_config *c)
{
	int pid = runner_pid(c);
	if (pid <= 1 || kill(pid, SIGUSR1) != 0)
		return die(RL_EXIT_TEMPFAIL, "flush: no relay is running on %s (start one, or use "
					     "relay --once)",
			   c->queue_dir);
	printf("flush requested from relay pid %d\n", pid);
	return RL_EXIT_OK;
}

static int cmd_delete(struct rl_config *c, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || v == 0 || *arg == '-')
		return die(RL_EXIT_USAGE, "delete: '%s' is not a MID", arg);
	char p[700];
	snprintf(p, sizeof p, "%s/env/%llu", c->queue_dir, v);
	if (access(p, F_OK) != 0)
		return die(RL_EXIT_NOINPUT, "delete: MID %llu is not in the queue", v);
	int lk = rl_queue_lock_msg(c->queue_dir, v);
	if (lk == -2)
		return die(RL_EXIT_TEMPFAIL, "delete: MID %llu is being delivered; try again", v);
	struct mt_err err;
	if (rl_queue_remove(c->queue_dir, v, &err) != MT_OK) {
		if (lk >= 0)
			close(lk);
		return die(RL_EXIT_NOINPUT, "delete: %s", err.msg);
	}
	if (lk >= 0)
		close(lk);
	if (rl_log_open(c, &err) == MT_OK) {
		rl_maillog("Info", "MID %llu deleted from the queue by the administrator", v);
		rl_log_close();
	}
	printf("deleted MID %llu\n", v);
	return RL_EXIT_OK;
}

static int cmd_destinations(const struct rl_config *c)
{
	printf("%-28s %-18s %-8s %-24s %-5s %s\n", "Destination", "TLS", "Max conn", "Route", "DANE",
	       "MTA-STS");
	for (size_t i = 0; i < c->ndests; i++) {
		const struct rl_dest *d = &c->dests[i];
		char route[300], mc[16];
		if (d->route_host[0])
			snprintf(route, sizeof route, "[%s]:%u", d->route_host, d->route_port);
		else
			snprintf(route, sizeof route, "MX");
		snprintf(mc, sizeof mc, "%u", d->max_conn ? d->max_conn : c->max_conn);
		printf("%-28s %-18s %-8s %-24s %-5s %s\n",
		       i == 0 ? "(default)" : d->domain, mt_policy_name(&d->policy), mc, route,
		       d->dane ? "yes" : "no", d->mta_sts ? "yes" : "no");
	}
	printf("TLS alert: %s", c->tls_alert ? "on" : "off");
	for (size_t i = 0; i < c->nalert_to; i++)
		printf("%s%s", i ? ", " : " to ", c->alert_to[i]);
	printf("\n");
	return RL_EXIT_OK;
}

int main(int argc, char **argv)
{
	enum { O_ONCE = 1000, O_FROM, O_TO, O_JSON, O_COPIES };
	static const struct option opts[] = {
	    {"config", required_argument, 0, 'c'},
	    {"queue", required_argument, 0, 'q'},
	    {"once", no_argument, 0, O_ONCE},
	    {"verbose", no_argument, 0, 'v'},
	    {"help", no_argument, 0, 'h'},
	    {"from", required_argument, 0, O_FROM},
	    {"to", required_argument, 0, O_TO},
	    {"json", no_argument, 0, O_JSON},
	    {"copies", required_argument, 0, O_COPIES},
	    {0, 0, 0, 0},
	};
	const char *cfgpath = NULL, *qdir = NULL, *from = NULL;
	const char **rcpts = calloc((size_t)argc + 1, sizeof *rcpts);
	size_t nrcpts = 0;
	bool once = false, verbose = false, tmode = false, json = false;
	unsigned copies = 1;
	if (!rcpts)
		return die(RL_EXIT_SOFTWARE, "out of memory");
	/* sendmail compatibility: -oi, -odq ... are accepted and ignored */
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "-o", 2) && argv[i][2])
			argv[i] = "-i";
	int ch;
	while ((ch = getopt_long(argc, argv, "+c:q:vhtf:i", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'q': qdir = optarg; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); free(rcpts); return RL_EXIT_OK;
		case 't': tmode = true; break;
		case 'f': from = optarg; break;
		case 'i': break;
		case O_ONCE: once = true; break;
		case O_FROM: from = optarg; break;
		case O_TO: rcpts[nrcpts++] = optarg; break;
		case O_JSON: json = true; break;
		default: usage(stderr); free(rcpts); return RL_EXIT_USAGE;
		}
	}
	const char *cmd = optind < argc && !tmode ? argv[optind] : NULL;
	int sub_optind = optind + 1;
	if (cmd && strcmp(cmd, "inject") && strcmp(cmd, "queue") && strcmp(cmd, "flush") &&
	    strcmp(cmd, "delete") && strcmp(cmd, "destinations") && strcmp(cmd, "run")) {
		free(rcpts);
		return die(RL_EXIT_USAGE, "unknown command '%s' (inject, queue, flush, delete, "
					  "destinations; see relay --help)",
			   cmd);
	}
	/* options after the subcommand (inject --from ... --to ..., queue --json) */
	if (cmd) {
		optind = sub_optind;
		while ((ch = getopt_long(argc, argv, "+c:q:v", opts, NULL)) != -1) {
			switch (ch) {
			case 'c': cfgpath = optarg; break;
			case 'q': qdir = optarg; break;
			case 'v': verbose = true; break;
			case O_FROM: from = optarg; break;
			case O_TO: rcpts[nrcpts++] = optarg; break;
			case O_JSON: json = true; break;
			case O_COPIES: {
				char *end;
				errno = 0;
				unsigned long v = strtoul(optarg, &end, 10);
				if (errno || *end || v < 1 || v > 1000000 || *optarg == '-') {
					free(rcpts);
					return die(RL_EXIT_USAGE, "--copies: 1 to 1000000");
				}
				copies = (unsigned)v;
				break;
			}
			default: usage(stderr); free(rcpts); return RL_EXIT_USAGE;
			}
		}
	}

	struct rl_config c;
	rl_config_init(&c);
	c.verbose = verbose;
	struct mt_err err;
	int rc = RL_EXIT_OK;
	if (!cfgpath && access(DEFAULT_CONFIG, F_OK) == 0)
		cfgpath = DEFAULT_CONFIG;
	if (cfgpath && rl_config_load(&c, cfgpath, &err) != MT_OK) {
		rc = die(RL_EXIT_USAGE, "%s", err.msg);
		goto out;
	}
	if (qdir) {
		mt_strlcpy(c.queue_dir, qdir, sizeof c.queue_dir);
		c.queue_dir_cli = true;
	}
	if (rl_config_finish(&c, &err) != MT_OK) {
		rc = die(RL_EXIT_USAGE, "%s", err.msg);
		goto out;
	}
	if (tmode) {
		rc = cmd_t(&c, from, argv + optind, (size_t)(argc - optind));
	} else if (!cmd || !strcmp(cmd, "run")) {
		if (cmd ? optind < argc : optind < argc) {
			rc = die(RL_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
			goto out;
		}
		rc = rl_run(&c, once);
		if (rc == RL_RUN_RELOAD) {
			/* SIGHUP: the same command line again, which reads the configuration anew
			 * (the queue lock is close-on-exec, the pid stays the same) */
			rl_config_free(&c);
			free(rcpts);
			execv("/proc/self/exe", argv);
			fprintf(stderr, "relay: reload: cannot re-execute: %s\n", strerror(errno));
			return RL_EXIT_SOFTWARE;
		}
	} else if (!strcmp(cmd, "inject")) {
		if (optind < argc) {
			rc = die(RL_EXIT_USAGE, "inject: unexpected argument '%s' (use --to ADDR)",
				 argv[optind]);
			goto out;
		}
		rc = cmd_inject(&c, from, rcpts, nrcpts, copies);
	} else if (!strcmp(cmd, "queue")) {
		rc = cmd_queue(&c, json);
	} else if (!strcmp(cmd, "flush")) {
		rc = cmd_flush(&c);
	} else if (!strcmp(cmd, "delete")) {
		if (optind + 1 != argc) {
			rc = die(RL_EXIT_USAGE, "delete: give exactly one MID");
			goto out;
		}
		rc = cmd_delete(&c, argv[optind]);
	} else if (!strcmp(cmd, "destinations")) {
		rc = cmd_destinations(&c);
	}
out:
	rl_config_free(&c);
	free(rcpts);
	return rc;
}
