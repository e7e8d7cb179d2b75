/* main.c — the receiver's command line: the server (default), `receiver cert ...` and
 * `receiver sessions --last N`. Statuses map to exit codes in exit_for() only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver.h"

static const char usage[] =
    "usage: receiver [options]                    run the SMTP receiver\n"
    "       receiver [-c FILE] cert new [--cn NAME] [--san NAME]... [--key-type rsa|ecdsa]\n"
    "                                   [--bits N] [--days N] [--org O] [--force]\n"
    "       receiver [-c FILE] cert install SIGNED.pem [--chain INTERMEDIATES.pem]\n"
    "       receiver [-c FILE] cert export --p12 FILE --password-file FILE\n"
    "       receiver [-c FILE] cert import FILE.p12 [--password-file FILE] [--force]\n"
    "       receiver [-c FILE] cert show\n"
    "       receiver [-c FILE] sessions [--last N] [--json]\n"
    "\n"
    "options:\n"
    "  -c, --config FILE     key = value configuration (see receiver(8))\n"
    "  -l, --listen ADDR:PORT  listen here (repeatable; default 127.0.0.1:2525)\n"
    "  -d, --data-dir DIR    certificates, spool, mail.log, sessions.jsonl (default\n"
    "                        ./receiver-data)\n"
    "      --hostname NAME   name in the greeting and EHLO reply\n"
    "      --discard         accept messages but do not store them\n"
    "      --policy P        TLS policy of the default sender group: off, preferred,\n"
    "                        required, preferred-verify, required-verify\n"
    "      --cert FILE --key FILE  certificate for all listeners (default: installed,\n"
    "                        self-signed from `cert new`, or a demonstration certificate)\n"
    "      --user USER       drop privileges to USER after binding\n"
    "      --no-rdns         do not look up reverse DNS\n"
    "  -o KEY=VALUE          any configuration setting\n"
    "  -v, --verbose         log state changes to stderr\n"
    "  -h, --help            this text\n"
    "\n"
    "exit codes: 0 ok; 1 a `cert` check failed (key mismatch, duplicate or stale\n"
    "intermediate, wrong order, expired, wrong PKCS#12 password); 64 usage or configuration\n"
    "error (file:line); 70 internal or runtime failure (cannot bind, out of memory).\n"
    "Signals: SIGHUP reloads configuration and certificates; SIGTERM finishes or tempfails\n"
    "sessions in flight and exits.\n";

/* Command-line settings, re-applied over the file at every SIGHUP reload. */
struct kv {
	const char *k, *v;
};
static struct kv cli[128];
static size_t ncli;
static const char *config_path;
static bool cli_listen;
static int verbose;

static int add_cli(const char *k, const char *v)
{
	if (ncli >= sizeof cli / sizeof cli[0]) {
		fprintf(stderr, "receiver: too many options\n");
		return -1;
	}
	cli[ncli].k = k;
	cli[ncli++].v = v;
	return 0;
}

static mt_status build_config(struct rcv_config *c, struct mt_err *err)
{
	mt_status st;
	rcv_config_defaults(c);
	c->verbose = verbose;
	if (config_path && (st = rcv_config_load(c, config_path, err)) != MT_OK)
		return st;
	if (cli_listen) {
		for (size_t i = 0; i < c->nlisten; i++) {
			free(c->listen[i].cert);
			free(c->listen[i].key);
		}
		c->nlisten = 0;
	}
	for (size_t i = 0; i < ncli; i++) {
		if ((st = rcv_config_set(c, cli[i].k, cli[i].v, NULL, 0, err)) != MT_OK) {
			char m[MT_ERR_MAX];
			mt_strlcpy(m, err->msg, sizeof m);
			return mt_err_set(err, st, "command line: %s", m);
		}
	}
	return rcv_config_finish(c, err);
}

static int exit_for(mt_status st)
{
	switch (st) {
	case MT_OK:
		return RCV_EXIT_OK;
	case MT_ERR_VERIFY:
		return RCV_EXIT_CHECK;
	case MT_ERR_USAGE:
	case MT_ERR_BADINPUT:
		return RCV_EXIT_USAGE;
	default:
		return RCV_EXIT_INTERNAL;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"config", 1, 0, 'c'},
	                                   {"listen", 1, 0, 'l'},
	                                   {"data-dir", 1, 0, 'd'},
	                                   {"hostname", 1, 0, 'H'},
	                                   {"discard", 0, 0, 'D'},
	                                   {"policy", 1, 0, 'P'},
	                                   {"cert", 1, 0, 'C'},
	                                   {"key", 1, 0, 'K'},
	                                   {"user", 1, 0, 'u'},
	                                   {"no-rdns", 0, 0, 'N'},
	                                   {"verbose", 0, 0, 'v'},
	                                   {"help", 0, 0, 'h'},
	                                   {0, 0, 0, 0}};
	int ch;
	static char policy_group[128];
	while ((ch = getopt_long(argc, argv, "+c:l:d:o:vh", lo, NULL)) != -1) {
		int r = 0;
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			cli_listen = true;
			r = add_cli("listen", optarg);
			break;
		case 'd':
			r = add_cli("data_dir", optarg);
			break;
		case 'H':
			r = add_cli("hostname", optarg);
			break;
		case 'D':
			r = add_cli("discard", "yes");
			break;
		case 'P':
			snprintf(policy_group, sizeof policy_group, "CLI policy=%s match=all",
			         optarg);
			r = add_cli("group", policy_group);
			break;
		case 'C':
			r = add_cli("cert", optarg);
			break;
		case 'K':
			r = add_cli("key", optarg);
			break;
		case 'u':
			r = add_cli("user", optarg);
			break;
		case 'N':
			r = add_cli("reverse_dns", "no");
			break;
		case 'v':
			verbose++;
			break;
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "receiver: -o expects KEY=VALUE\n");
				return RCV_EXIT_USAGE;
			}
			*eq = '\0';
			r = add_cli(optarg, eq + 1);
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return RCV_EXIT_OK;
		default:
			fputs(usage, stderr);
			return RCV_EXIT_USAGE;
		}
		if (r)
			return RCV_EXIT_USAGE;
	}
	struct rcv_config *c = calloc(1, sizeof *c);
	struct mt_err err;
	mt_err_clear(&err);
	if (!c)
		return RCV_EXIT_INTERNAL;
	mt_status st = build_config(c, &err);
	if (st != MT_OK) {
		fprintf(stderr, "receiver: %s\n", err.msg);
		rcv_config_free(c);
		free(c);
		return exit_for(st);
	}
	if (optind < argc && !strcmp(argv[optind], "cert")) {
		int rc = rcv_cert_cmd(c, argc - optind - 1, argv + optind + 1);
		rcv_config_free(c);
		free(c);
		return rc;
	}
	if (optind < argc && !strcmp(argv[optind], "sessions")) {
		unsigned last = 20;
		bool json = false;
		static const struct option so[] = {
		    {"last", 1, 0, 'n'}, {"json", 0, 0, 'j'}, {0, 0, 0, 0}};
		int sargc = argc - optind;
		char **sargv = argv + optind;
		optind = 0;
		while ((ch = getopt_long(sargc, sargv, "n:", so, NULL)) != -1) {
			if (ch == 'n') {
				char *end;
				long v = strtol(optarg, &end, 10);
				if (*end || v < 1 || v > 1000000) {
					fprintf(stderr, "receiver sessions: --last 1 to 1000000\n");
					rcv_config_free(c);
					free(c);
					return RCV_EXIT_USAGE;
				}
				last = (unsigned)v;
			} else if (ch == 'j') {
				json = true;
			} else {
				rcv_config_free(c);
				free(c);
				return RCV_EXIT_USAGE;
			}
		}
		char *path = rcv_path(c, "sessions.jsonl");
		int rc = rcv_sessions_cmd(path, last, json, stdout, &err);
		if (rc != RCV_EXIT_OK)
			fprintf(stderr, "receiver sessions: %s\n", err.msg);
		free(path);
		rcv_config_free(c);
		free(c);
		return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "receiver: unexpected argument '%s'\n%s", argv[optind], usage);
		rcv_config_free(c);
		free(c);
		return RCV_EXIT_USAGE;
	}
	return rcv_server_run(c, build_config);
}
