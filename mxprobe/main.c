/* mxprobe — every MX of a domain (or of thousands): DNS with DNSSEC state, every address
 * probed with the core engine and verifier, DANE, MTA-STS and TLS-RPT; an MX matrix, JSON
 * (Lines in batch), XML (one document, a <domain> per domain), JUnit or a Nagios line.
 * Options, modes and exit codes only here.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailtls/logscan_report.h"
#include "mailtls/report_junit.h"
#include "mxprobe.h"

#define VERSION "0.1.0"

static void usage(FILE *f)
{
	fputs(
	    "usage: mxprobe [options] DOMAIN\n"
	    "       mxprobe [options] -f FILE        (one domain a line; '-' is stdin)\n"
	    "\n"
	    "Resolve a domain's MX (null MX, implicit MX and CNAMEs handled), the A/AAAA of every\n"
	    "MX host with its DNSSEC state, TLSA when the addresses are DNSSEC-secure, the\n"
	    "MTA-STS policy and the TLS-RPT record; probe every address with STARTTLS and the\n"
	    "same verifier as checktls; print an MX matrix and one verdict per domain.\n"
	    "\n"
	    "DNS:\n"
	    "      --resolver IP[:PORT] ask this resolver (default: /etc/resolv.conf); it must\n"
	    "                          validate DNSSEC for secure/bogus states to mean anything\n"
	    "      --dns-timeout SEC   per lookup (5)\n"
	    "  -4, -6                  IPv4 or IPv6 addresses only\n"
	    "Probing:\n"
	    "  -p, --port PORT         SMTP port of every MX (25)\n"
	    "      --ehlo NAME         name to send in EHLO\n"
	    "      --timeout SEC       per phase (30)\n"
	    "      --deadline SEC      per address session (120)\n"
	    "      --per-ip N          concurrent probes to one address (4)\n"
	    "      --spacing MS        at least MS between connections to one address (0)\n"
	    "      --priority STRING   GnuTLS priority string\n"
	    "Verification:\n"
	    "  -l, --level LEVEL       none may encrypt fingerprint dane dane-only verify secure,\n"
	    "                          or the ESA names; default verify. dane: DANE when secure\n"
	    "                          usable TLSA exist, else may; dane-only: DANE required\n"
	    "      --cafile FILE       trust these CAs instead of the system store\n"
	    "      --capath DIR        trust the CAs in DIR instead\n"
	    "      --warn-days N       warn when a certificate expires within N days (30)\n"
	    "      --no-dane           skip TLSA lookups\n"
	    "      --no-mta-sts        skip MTA-STS\n"
	    "      --no-tlsrpt         skip TLS-RPT\n"
	    "      --mta-sts-port PORT HTTPS port for the policy fetch (443; for tests)\n"
	    "      --mta-sts-cafile F  CAs for the policy host (default --cafile, else system)\n"
	    "Batch:\n"
	    "  -f, --file FILE         domains, one a line (# comments and blanks skipped,\n"
	    "                          IDN converted to A-labels); '-' reads stdin\n"
	    "  -j, --jobs N            domains probed at once (1 .. 1024; default 8 with -f)\n"
	    "      --progress, --no-progress  progress on stderr (default: when a terminal)\n"
	    "Output:\n"
	    "  -v, --verbose           after the matrix, every address's transcript\n"
	    "      --json              one JSON object per domain (JSON Lines in batch; the\n"
	    "                          default of -f when stdout is not a terminal and no -v)\n"
	    "      --text              the MX matrices, also in batch to a file or pipe\n"
	    "      --xml               one XML document: <mxprobe> with a <domain> element per\n"
	    "                          domain (the fields of --json; in batch, in the order the\n"
	    "                          domains finish)\n"
	    "      --junit FILE        also write JUnit XML: a testsuite per domain\n"
	    "      --nagios            one Nagios status line (single domain); Nagios exit codes\n"
	    "      --color, --no-color colour in transcripts (default: terminal, unless NO_COLOR)\n"
	    "  -h, --help              this help\n"
	    "      --version           version\n"
	    "\n"
	    "Exit codes (the worst over all domains and addresses): 0 all checks passed at the\n"
	    "requested level (warnings allowed; a null MX passes); 1 a check failed (verification,\n"
	    "DANE, MTA-STS policy); 2 TLS not available or handshake failed; 3 could not connect,\n"
	    "SMTP error or DNS failure; 64 usage error (or a malformed domain); 70 internal\n"
	    "error. With --nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n",
	    f);
}

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "mxprobe: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'mxprobe --help'.\n");
	return MX_EXIT_USAGE;
}

static int parse_seconds(const char *s, int *ms)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || v <= 0 || v > 86400)
		return -1;
	*ms = (int)(v * 1000);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		O_RESOLVER = 256, O_DNSTO, O_EHLO, O_TIMEOUT, O_DEADLINE, O_PERIP, O_SPACING,
		O_PRIO, O_CAFILE, O_CAPATH, O_WARN, O_NODANE, O_NOSTS, O_NORPT, O_STSPORT,
		O_STSCA, O_PROGRESS, O_NOPROGRESS, O_JSON, O_JUNIT, O_NAGIOS, O_COLOR,
		O_NOCOLOR, O_VERSION, O_NOW, O_XML, O_TEXT,
	};
	static const struct option lo[] = {
	    {"resolver", required_argument, 0, O_RESOLVER},
	    {"dns-timeout", required_argument, 0, O_DNSTO},
	    {"port", required_argument, 0, 'p'},
	    {"ehlo", required_argument, 0, O_EHLO},
	    {"timeout", required_argument, 0, O_TIMEOUT},
	    {"deadline", required_argument, 0, O_DEADLINE},
	    {"per-ip", required_argument, 0, O_PERIP},
	    {"spacing", required_argument, 0, O_SPACING},
	    {"priority", required_argument, 0, O_PRIO},
	    {"level", required_argument, 0, 'l'},
	    {"cafile", required_argument, 0, O_CAFILE},
	    {"capath", required_argument, 0, O_CAPATH},
	    {"warn-days", required_argument, 0, O_WARN},
	    {"no-dane", no_argument, 0, O_NODANE},
	    {"no-mta-sts", no_argument, 0, O_NOSTS},
	    {"no-tlsrpt", no_argument, 0, O_NORPT},
	    {"mta-sts-port", required_argument, 0, O_STSPORT},
	    {"mta-sts-cafile", required_argument, 0, O_STSCA},
	    {"file", required_argument, 0, 'f'},
	    {"jobs", required_argument, 0, 'j'},
	    {"progress", no_argument, 0, O_PROGRESS},
	    {"no-progress", no_argument, 0, O_NOPROGRESS},
	    {"verbose", no_argument, 0, 'v'},
	    {"json", no_argument, 0, O_JSON},
	    {"xml", no_argument, 0, O_XML},
	    {"text", no_argument, 0, O_TEXT},
	    {"junit", required_argument, 0, O_JUNIT},
	    {"nagios", no_argument, 0, O_NAGIOS},
	    {"color", no_argument, 0, O_COLOR},
	    {"colour", no_argument, 0, O_COLOR},
	    {"no-color", no_argument, 0, O_NOCOLOR},
	    {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, O_VERSION},
	    {"now", required_argument, 0, O_NOW}, /* tests: pin the verifier's clock */
	    {0, 0, 0, 0},
	};
	struct mx_cfg cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.policy.level = MT_LEVEL_VERIFY;
	cfg.warn_days = -1;
	cfg.per_ip = 4;
	const char *file = NULL, *junit = NULL;
	long jobs = 0, v;
	bool json = false, xml = false, nagios = false, text = false, fam4 = false, fam6 = false, verbose = false;
	int color = 0, progress = 0;
	struct mt_err err;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:l:f:j:vh46", lo, NULL)) != -1) {
		switch (ch) {
		case O_RESOLVER: cfg.resolver = optarg; break;
		case O_DNSTO:
			if (parse_seconds(optarg, &cfg.dns_timeout_ms))
				return die_usage("bad --dns-timeout '%s' (seconds, > 0)", optarg);
			break;
		case 'p':
			if (parse_int(optarg, 1, 65535, &v))
				return die_usage("bad port '%s' (expected 1-65535)", optarg);
			cfg.port = (unsigned)v;
			break;
		case O_EHLO: cfg.ehlo = optarg; break;
		case O_TIMEOUT:
			if (parse_seconds(optarg, &cfg.timeout_ms))
				return die_usage("bad --timeout '%s' (seconds, > 0)", optarg);
			break;
		case O_DEADLINE:
			if (parse_seconds(optarg, &cfg.deadline_ms))
				return die_usage("bad --deadline '%s' (seconds, > 0)", optarg);
			break;
		case O_PERIP:
			if (parse_int(optarg, 1, 1000, &v))
				return die_usage("bad --per-ip '%s' (1-1000)", optarg);
			cfg.per_ip = (int)v;
			break;
		case O_SPACING:
			if (parse_int(optarg, 0, 600000, &v))
				return die_usage("bad --spacing '%s' (milliseconds, 0-600000)", optarg);
			cfg.spacing_ms = (int)v;
			break;
		case O_PRIO: cfg.priority = optarg; break;
		case 'l':
			if (mt_policy_parse(optarg, &cfg.policy, &err) != MT_OK)
				return die_usage("%s", err.msg);
			break;
		case O_CAFILE: cfg.cafile = optarg; break;
		case O_CAPATH: cfg.capath = optarg; break;
		case O_WARN:
			if (parse_int(optarg, 0, 3650, &v))
				return die_usage("bad --warn-days '%s' (0-3650)", optarg);
			cfg.warn_days = (int)v;
			break;
		case O_NODANE: cfg.no_dane = true; break;
		case O_NOSTS: cfg.no_sts = true; break;
		case O_NORPT: cfg.no_tlsrpt = true; break;
		case O_STSPORT:
			if (parse_int(optarg, 1, 65535, &v))
				return die_usage("bad --mta-sts-port '%s' (1-65535)", optarg);
			cfg.sts_port = (unsigned)v;
			break;
		case O_STSCA: cfg.sts_cafile = optarg; break;
		case 'f': file = optarg; break;
		case 'j':
			if (parse_int(optarg, 1, 1024, &jobs))
				return die_usage("bad -j '%s' (1-1024)", optarg);
			break;
		case O_PROGRESS: progress = 1; break;
		case O_NOPROGRESS: progress = -1; break;
		case 'v': verbose = true; break;
		case O_JSON: json = true; break;
		case O_XML: xml = true; break;
		case O_TEXT: text = true; break;
		case O_JUNIT: junit = optarg; break;
		case O_NAGIOS: nagios = true; break;
		case O_COLOR: color = 1; break;
		case O_NOCOLOR: color = -1; break;
		case '4': fam4 = true; break;
		case '6': fam6 = true; break;
		case 'h': usage(stdout); return 0;
		case O_VERSION: printf("mxprobe (mailtls) %s\n", VERSION); return 0;
		case O_NOW:
			if (parse_int(optarg, 1, 0x7fffffffL, &v))
				return die_usage("bad --now '%s' (Unix time)", optarg);
			cfg.now = (time_t)v;
			break;
		case ':': return die_usage("option '%s' needs a value", argv[optind - 1]);
		default: return die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (fam4 && fam6)
		return die_usage("%s", "-4 and -6 exclude each other");
	if ((json && nagios) || (json && xml) || (xml && nagios) || (text && (json || xml || nagios)))
		return die_usage("%s", "choose one of --text, --json, --xml and --nagios");
	/* batch into a file or pipe: JSON Lines, as `mxprobe -f list > results.jsonl` expects */
	if (file && !text && !json && !xml && !verbose && !isatty(1))
		json = true;
	if (cfg.policy.level == MT_LEVEL_FINGERPRINT)
		return die_usage("%s", "level fingerprint pins one server: use checktls");
	if (file && optind < argc)
		return die_usage("-f reads the domains from a file: no DOMAIN ('%s') allowed",
				 argv[optind]);
	if (!file && optind >= argc)
		return die_usage("%s", "no DOMAIN given (or -f FILE)");
	if (!file && optind + 1 < argc)
		return die_usage("one DOMAIN only ('%s' is extra); use -f for many", argv[optind + 1]);
	if (file && nagios)
		return die_usage("%s", "--nagios checks one domain: no -f");
	if (jobs && !file)
		return die_usage("%s", "-j needs -f");
	if (cfg.cafile && access(cfg.cafile, R_OK) != 0)
		return die_usage("cannot read --cafile %s", cfg.cafile);
	if (cfg.sts_cafile && access(cfg.sts_cafile, R_OK) != 0)
		return die_usage("cannot read --mta-sts-cafile %s", cfg.sts_cafile);
	cfg.family = fam4 ? MT_AF_INET4 : fam6 ? MT_AF_INET6 : MT_AF_ANY;
	cfg.verbose = verbose;
	mx_limit_init(cfg.per_ip, cfg.spacing_ms);

	/* check the resolver setting once, so a bad --resolver is a usage error up front */
	struct mt_dns *dns = NULL;
	mt_status st = mt_dns_new(cfg.resolver, cfg.dns_timeout_ms, &dns, &err);
	if (st != MT_OK) {
		fprintf(stderr, "mxprobe: resolver: %s\n", err.msg);
		return st == MT_ERR_USAGE ? MX_EXIT_USAGE : MX_EXIT_CONNECT;
	}
	if (mt_tls_global_init(&err) != MT_OK) {
		fprintf(stderr, "mxprobe: %s\n", err.msg);
		mt_dns_free(dns);
		return MX_EXIT_INTERNAL;
	}
	struct mt_junit *ju = NULL;
	if (junit && mt_junit_open(junit, "mxprobe", &ju, &err) != MT_OK) {
		fprintf(stderr, "mxprobe: %s\n", err.msg);
		mt_dns_free(dns);
		return MX_EXIT_USAGE;
	}
	bool use_color = mt_report_use_color(stdout, color);
	struct mt_lsxml *xw = NULL;
	if (xml && !(xw = mt_lsxml_new(stdout, "mxprobe", &err))) {
		fprintf(stderr, "mxprobe: %s\n", err.msg);
		mt_junit_close(ju, NULL);
		mt_dns_free(dns);
		return MX_EXIT_INTERNAL;
	}
	int rc;
	if (file) {
		mt_dns_free(dns);
		FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
		if (!in) {
			fprintf(stderr, "mxprobe: cannot open %s: %s\n", file, strerror(errno));
			mt_junit_close(ju, NULL);
			mt_lsxml_finish(xw);
			return MX_EXIT_USAGE;
		}
		struct mx_batch_out bo = {
		    .json = json, .xml = xw, .text = !json && !xml, .color = use_color,
		    .verbose = verbose,
		    .progress = progress > 0 || (progress == 0 && isatty(2)),
		    .junit = ju, .f = stdout,
		};
		rc = mx_batch_run(&cfg, in, strcmp(file, "-") ? file : "stdin",
				  jobs ? (int)jobs : 8, &bo);
		if (in != stdin)
			fclose(in);
	} else {
		struct mx_domain *d = malloc(sizeof *d);
		if (!d) {
			fprintf(stderr, "mxprobe: out of memory\n");
			mt_dns_free(dns);
			return MX_EXIT_INTERNAL;
		}
		mx_domain_run(&cfg, dns, argv[optind], d);
		mt_dns_free(dns);
		rc = d->exit_code;
		if (rc == MX_EXIT_USAGE && !json && !xml && !nagios)
			fprintf(stderr, "mxprobe: %s\n", d->reason);
		if (json) {
			char *s = mx_out_json(d, true);
			if (s) {
				puts(s);
				free(s);
			} else {
				rc = MX_EXIT_INTERNAL;
			}
		} else if (xml) {
			if (mx_out_xml(xw, d, &err) != MT_OK) {
				fprintf(stderr, "mxprobe: %s\n", err.msg);
				rc = MX_EXIT_INTERNAL;
			}
		} else if (nagios) {
			int nrc = 3;
			char *s = mx_out_nagios(d, &nrc);
			puts(s ? s : "MXPROBE UNKNOWN - out of memory");
			free(s);
			rc = nrc;
		} else if (rc != MX_EXIT_USAGE) {
			mx_out_matrix(stdout, d, use_color, verbose);
		}
		if (ju && mx_out_junit(ju, d, &err) != MT_OK) {
			fprintf(stderr, "mxprobe: %s\n", err.msg);
			rc = MX_EXIT_INTERNAL;
		}
		mx_domain_free(d);
		free(d);
	}
	if (xw && mt_lsxml_finish(xw) != MT_OK) {
		fprintf(stderr, "mxprobe: cannot write the XML output\n");
		rc = MX_EXIT_INTERNAL;
	}
	if (ju && mt_junit_close(ju, &err) != MT_OK) {
		fprintf(stderr, "mxprobe: %s\n", err.msg);
		rc = MX_EXIT_INTERNAL;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "mxprobe: cannot write output: %s\n", strerror(errno));
		return MX_EXIT_INTERNAL;
	}
	return rc;
}
