/* receiver_cert.c — where the listeners' certificate comes from (configured, installed,
 * self-signed from `cert new`, or a demonstration certificate made on first start), the
 * private-key permission check, and the `receiver cert` subcommands of the ESA workflow:
 * new (key + self-signed certificate + CSR), install (CA-signed certificate and
 * intermediates, checked), export/import (PKCS#12), show.
 *
 * Files live in <data_dir>/certs: key.pem (0600), selfsigned.pem, request.csr, cert.pem
 * (installed chain), and demo-ca.pem, demo-cert.pem, demo-key.pem for the demonstration.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailtls/certgen.h"
#include "receiver.h"

static bool exists(const char *p)
{
	struct stat st;
	return p && stat(p, &st) == 0;
}

mt_status rcv_cert_check_key_mode(const char *keyfile, struct mt_err *err)
{
	struct stat st;
	if (stat(keyfile, &st) != 0)
		return mt_err_set(err, MT_ERR_USAGE, "cannot read key %s: %s", keyfile,
		                  strerror(errno));
	if (st.st_mode & 077)
		return mt_err_set(err, MT_ERR_USAGE,
		                  "private key %s is readable by group or others (mode %04o); "
		                  "refusing to use it: chmod 600 %s",
		                  keyfile, (unsigned)(st.st_mode & 07777), keyfile);
	return MT_OK;
}

static mt_status certs_dir(const struct rcv_config *c, struct mt_err *err)
{
	char *d = rcv_path(c, "certs");
	if (!d)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	mkdir(c->data_dir, 0755);
	mt_status st = MT_OK;
	if (mkdir(d, 0700) != 0 && errno != EEXIST)
		st = mt_err_set(err, MT_ERR_IO, "cannot create %s: %s", d, strerror(errno));
	free(d);
	return st;
}

static mt_status make_demo(const struct rcv_config *c, struct mt_err *err)
{
	struct mt_certgen_opts o = {.type = MT_KEY_RSA, .cn = c->hostname, .days = 825};
	o.sans[o.nsans++] = c->hostname;
	if (strcmp(c->hostname, "localhost"))
		o.sans[o.nsans++] = "localhost";
	o.sans[o.nsans++] = "127.0.0.1";
	o.sans[o.nsans++] = "::1";
	o.org = "mailtls receiver demonstration";
	char *ca = NULL, *leaf = NULL, *key = NULL;
	mt_status st = certs_dir(c, err);
	if (st == MT_OK)
		st = mt_certgen_demo(&o, &ca, &leaf, &key, err);
	char *pca = rcv_path(c, "certs/demo-ca.pem"), *pcert = rcv_path(c, "certs/demo-cert.pem"),
	     *pkey = rcv_path(c, "certs/demo-key.pem");
	if (st == MT_OK && (!pca || !pcert || !pkey))
		st = mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	if (st == MT_OK)
		st = rcv_write_file_atomic(pkey, key, strlen(key), 0600, err);
	if (st == MT_OK)
		st = rcv_write_file_atomic(pca, ca, strlen(ca), 0644, err);
	if (st == MT_OK)
		st = rcv_write_file_atomic(pcert, leaf, strlen(leaf), 0644, err);
	free(ca);
	free(leaf);
	free(key);
	free(pca);
	free(pcert);
	free(pkey);
	return st;
}

mt_status rcv_cert_default(const struct rcv_config *c, char **cert, char **key, bool *is_demo,
                           struct mt_err *err)
{
	*cert = *key = NULL;
	*is_demo = false;
	if (c->cert) {
		*cert = mt_strdup(c->cert);
		*key = c->key ? mt_strdup(c->key) : NULL;
		return *cert ? MT_OK : mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	}
	static const char *const pairs[][2] = {{"certs/cert.pem", "certs/key.pem"},
	                                       {"certs/selfsigned.pem", "certs/key.pem"},
	                                       {"certs/demo-cert.pem", "certs/demo-key.pem"}};
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < 3; i++) {
			char *cp = rcv_path(c, pairs[i][0]), *kp = rcv_path(c, pairs[i][1]);
			if (cp && kp && exists(cp) && exists(kp)) {
				*cert = cp;
				*key = kp;
				*is_demo = (i == 2);
				return MT_OK;
			}
			free(cp);
			free(kp);
		}
		if (pass == 0) {
			mt_status st = make_demo(c, err);
			if (st != MT_OK)
				return st;
		}
	}
	return mt_err_set(err, MT_ERR_INTERNAL, "the demonstration certificate was not found");
}

/* ---- subcommands ---- */

static int fail(const char *what, mt_status st, const struct mt_err *e)
{
	fprintf(stderr, "receiver cert %s: %s\n", what, e->msg);
	if (st == MT_ERR_VERIFY)
		return RCV_EXIT_CHECK;
	if (st == MT_ERR_USAGE || st == MT_ERR_BADINPUT || st == MT_ERR_IO)
		return RCV_EXIT_USAGE;
	return RCV_EXIT_INTERNAL;
}

static char *read_text(const char *path, struct mt_err *err, mt_status *st)
{
	char *s = NULL;
	size_t n;
	*st = mt_file_read(path, 1 << 20, &s, &n, err);
	if (*st != MT_OK) {
		*st = MT_ERR_USAGE;
		return NULL;
	}
	return s;
}

static char *read_password(const char *file, struct mt_err *err, mt_status *st)
{
	char *p = read_text(file, err, st);
	if (!p)
		return NULL;
	p[strcspn(p, "\r\n")] = '\0'; /* the first line is the password */
	return p;
}

static int cmd_new(struct rcv_config *c, int argc, char **argv)
{
	struct mt_certgen_opts o = {.type = MT_KEY_RSA};
	bool force = false;
	static const struct option lo[] = {
	    {"cn", 1, 0, 'n'},   {"san", 1, 0, 's'}, {"key-type", 1, 0, 't'}, {"bits", 1, 0, 'b'},
	    {"days", 1, 0, 'd'}, {"org", 1, 0, 'o'}, {"force", 0, 0, 'f'},    {0, 0, 0, 0}};
	int ch;
	optind = 0; /* 0: glibc re-initialises (the main parse used "+") */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o.cn = optarg;
			break;
		case 's':
			if (o.nsans >= MT_CERTGEN_MAX_SANS) {
				fprintf(stderr, "receiver cert new: too many --san\n");
				return RCV_EXIT_USAGE;
			}
			o.sans[o.nsans++] = optarg;
			break;
		case 't':
			if (!mt_strcasecmp(optarg, "rsa"))
				o.type = MT_KEY_RSA;
			else if (!mt_strcasecmp(optarg, "ecdsa") ||
			         !mt_strcasecmp(optarg, "p256") ||
			         !mt_strcasecmp(optarg, "ecdsa-p256"))
				o.type = MT_KEY_ECDSA_P256;
			else {
				fprintf(stderr, "receiver cert new: --key-type rsa or ecdsa\n");
				return RCV_EXIT_USAGE;
			}
			break;
		case 'b':
			o.bits = (unsigned)atoi(optarg);
			break;
		case 'd':
			o.days = atoi(optarg);
			break;
		case 'o':
			o.org = optarg;
			break;
		case 'f':
			force = true;
			break;
		default:
			return RCV_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "receiver cert new: unexpected argument '%s'\n", argv[optind]);
		return RCV_EXIT_USAGE;
	}
	if (!o.cn)
		o.cn = c->hostname;
	if (o.days < 0 || o.days > 3650) {
		fprintf(stderr, "receiver cert new: --days 1 to 3650\n");
		return RCV_EXIT_USAGE;
	}
	struct mt_err e;
	mt_status st = certs_dir(c, &e);
	if (st != MT_OK)
		return fail("new", st, &e);
	char *kp = rcv_path(c, "certs/key.pem"), *sp = rcv_path(c, "certs/selfsigned.pem"),
	     *rp = rcv_path(c, "certs/request.csr");
	char *key = NULL, *crt = NULL, *csr = NULL;
	int rc = RCV_EXIT_OK;
	if (exists(kp) && !force) {
		fprintf(stderr,
		        "receiver cert new: %s exists; --force replaces the key (the installed "
		        "certificate will then no longer match it)\n",
		        kp);
		rc = RCV_EXIT_USAGE;
		goto out;
	}
	if ((st = mt_certgen_key(&o, &key, &e)) != MT_OK ||
	    (st = mt_certgen_selfsigned(key, &o, &crt, &e)) != MT_OK ||
	    (st = mt_certgen_csr(key, &o, &csr, &e)) != MT_OK ||
	    (st = rcv_write_file_atomic(kp, key, strlen(key), 0600, &e)) != MT_OK ||
	    (st = rcv_write_file_atomic(sp, crt, strlen(crt), 0644, &e)) != MT_OK ||
	    (st = rcv_write_file_atomic(rp, csr, strlen(csr), 0644, &e)) != MT_OK) {
		rc = fail("new", st, &e);
		goto out;
	}
	/* a new key invalidates a previously installed certificate */
	char *ip = rcv_path(c, "certs/cert.pem");
	if (ip && exists(ip)) {
		char *old = rcv_path(c, "certs/cert.pem.old");
		if (old)
			rename(ip, old);
		free(old);
	}
	free(ip);
	printf("private key:             %s (mode 0600, %s)\n", kp,
	       o.type == MT_KEY_RSA ? "RSA" : "ECDSA P-256");
	printf("self-signed certificate: %s (in use until a signed one is installed)\n", sp);
	printf("signing request (CSR):   %s\n", rp);
	printf("Send the CSR to your CA, then: receiver cert install signed.pem --chain "
	       "intermediates.pem\n");
	fputs(csr, stdout);
out:
	free(key);
	free(crt);
	free(csr);
	free(kp);
	free(sp);
	free(rp);
	return rc;
}

static int cmd_install(struct rcv_config *c, int argc, char **argv)
{
	const char *chain = NULL, *signed_file = NULL;
	static const struct option lo[] = {{"chain", 1, 0, 'c'}, {0, 0, 0, 0}};
	int ch;
	optind = 0; /* 0: glibc re-initialises (the main parse used "+") */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'c')
			chain = optarg;
		else
			return RCV_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
		        "usage: receiver cert install SIGNED.pem [--chain INTERMEDIATES.pem]\n");
		return RCV_EXIT_USAGE;
	}
	signed_file = argv[optind];
	struct mt_err e;
	mt_status st;
	char *kp = rcv_path(c, "certs/key.pem"), *ip = rcv_path(c, "certs/cert.pem");
	char *key = NULL, *crt = NULL, *chn = NULL, *out = NULL, *notes = NULL;
	int rc = RCV_EXIT_OK;
	if (!exists(kp)) {
		fprintf(stderr,
		        "receiver cert install: no private key at %s: run `receiver cert new` "
		        "first (or `cert import` a PKCS#12)\n",
		        kp);
		rc = RCV_EXIT_USAGE;
		goto done;
	}
	if (!(key = read_text(kp, &e, &st)) || !(crt = read_text(signed_file, &e, &st)) ||
	    (chain && !(chn = read_text(chain, &e, &st)))) {
		rc = fail("install", st, &e);
		goto done;
	}
	st = mt_certgen_check_install(key, crt, chn, 0, &out, &notes, &e);
	if (st != MT_OK) {
		rc = fail("install", st, &e);
		goto done;
	}
	if ((st = rcv_write_file_atomic(ip, out, strlen(out), 0644, &e)) != MT_OK) {
		rc = fail("install", st, &e);
		goto done;
	}
	printf("installed %s (the key matches; chain checked)\n", ip);
	if (notes)
		printf("note: %s", notes);
	printf("send SIGHUP to a running receiver to load it\n");
done:
	free(kp);
	free(ip);
	free(key);
	free(crt);
	free(chn);
	free(out);
	free(notes);
	return rc;
}

/* The certificate in use and its key, for export/show. */
static bool active_pair(struct rcv_config *c, char **cert, char **key, bool *demo)
{
	struct mt_err e;
	*cert = *key = NULL;
	*demo = false;
	static const char *const pairs[][2] = {{"certs/cert.pem", "certs/key.pem"},
	                                       {"certs/selfsigned.pem", "certs/key.pem"},
	                                       {"certs/demo-cert.pem", "certs/demo-key.pem"}};
	if (c->cert) {
		*cert = mt_strdup(c->cert);
		*key = mt_strdup(c->key ? c->key : c->cert);
		return true;
	}
	for (size_t i = 0; i < 3; i++) {
		char *cp = rcv_path(c, pairs[i][0]), *kp = rcv_path(c, pairs[i][1]);
		if (exists(cp) && exists(kp)) {
			*cert = cp;
			*key = kp;
			*demo = i == 2;
			return true;
		}
		free(cp);
		free(kp);
	}
	(void)e;
	return false;
}

static int cmd_export(struct rcv_config *c, int argc, char **argv)
{
	const char *p12 = NULL, *pwfile = NULL;
	static const struct option lo[] = {
	    {"p12", 1, 0, 'p'}, {"password-file", 1, 0, 'w'}, {0, 0, 0, 0}};
	int ch;
	optind = 0; /* 0: glibc re-initialises (the main parse used "+") */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'p')
			p12 = optarg;
		else if (ch == 'w')
			pwfile = optarg;
		else
			return RCV_EXIT_USAGE;
	}
	if (!p12 || !pwfile || optind != argc) {
		fprintf(stderr, "usage: receiver cert export --p12 FILE --password-file FILE\n");
		return RCV_EXIT_USAGE;
	}
	char *cp, *kp;
	bool demo;
	if (!active_pair(c, &cp, &kp, &demo)) {
		fprintf(stderr, "receiver cert export: no certificate to export in %s/certs\n",
		        c->data_dir);
		return RCV_EXIT_USAGE;
	}
	struct mt_err e;
	mt_status st;
	char *pw = NULL, *key = NULL, *crt = NULL;
	unsigned char *der = NULL;
	size_t dlen = 0;
	int rc = RCV_EXIT_OK;
	if (!(pw = read_password(pwfile, &e, &st)) || !(key = read_text(kp, &e, &st)) ||
	    !(crt = read_text(cp, &e, &st))) {
		rc = fail("export", st, &e);
		goto out;
	}
	if ((st = mt_certgen_p12_export(key, crt, pw, c->hostname, &der, &dlen, &e)) != MT_OK ||
	    (st = rcv_write_file_atomic(p12, der, dlen, 0600, &e)) != MT_OK) {
		rc = fail("export", st, &e);
		goto out;
	}
	printf("exported %s and its key to %s (PKCS#12, AES-256, mode 0600)%s\n", cp, p12,
	       demo ? " [demonstration certificate]" : "");
out:
	if (pw)
		memset(pw, 0, strlen(pw));
	free(pw);
	free(key);
	free(crt);
	free(der);
	free(cp);
	free(kp);
	return rc;
}

static int cmd_import(struct rcv_config *c, int argc, char **argv)
{
	const char *pwfile = NULL;
	bool force = false;
	static const struct option lo[] = {
	    {"password-file", 1, 0, 'w'}, {"force", 0, 0, 'f'}, {0, 0, 0, 0}};
	int ch;
	optind = 0; /* 0: glibc re-initialises (the main parse used "+") */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'w')
			pwfile = optarg;
		else if (ch == 'f')
			force = true;
		else
			return RCV_EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: receiver cert import FILE.p12 [--password-file FILE] "
		                "[--force]\n");
		return RCV_EXIT_USAGE;
	}
	struct mt_err e;
	mt_status st = certs_dir(c, &e);
	if (st != MT_OK)
		return fail("import", st, &e);
	char *kp = rcv_path(c, "certs/key.pem"), *ip = rcv_path(c, "certs/cert.pem");
	char *pw = NULL, *der = NULL, *key = NULL, *chain = NULL;
	size_t dlen = 0;
	int rc = RCV_EXIT_OK;
	if (exists(kp) && !force) {
		fprintf(stderr, "receiver cert import: %s exists; --force replaces it\n", kp);
		rc = RCV_EXIT_USAGE;
		goto out;
	}
	if (pwfile && !(pw = read_password(pwfile, &e, &st))) {
		rc = fail("import", st, &e);
		goto out;
	}
	if ((st = mt_file_read(argv[optind], 1 << 20, &der, &dlen, &e)) != MT_OK) {
		rc = fail("import", MT_ERR_USAGE, &e);
		goto out;
	}
	if ((st = mt_certgen_p12_import((unsigned char *)der, dlen, pw ? pw : "", &key, &chain,
	                                &e)) != MT_OK ||
	    (st = rcv_write_file_atomic(kp, key, strlen(key), 0600, &e)) != MT_OK ||
	    (st = rcv_write_file_atomic(ip, chain, strlen(chain), 0644, &e)) != MT_OK) {
		rc = fail("import", st, &e);
		goto out;
	}
	printf("imported %s: key %s (mode 0600), certificate %s\n", argv[optind], kp, ip);
out:
	if (pw)
		memset(pw, 0, strlen(pw));
	free(pw);
	free(der);
	if (key)
		memset(key, 0, strlen(key));
	free(key);
	free(chain);
	free(kp);
	free(ip);
	return rc;
}

static int cmd_show(struct rcv_config *c, int argc, char **argv)
{
	char *cp, *kp;
	bool demo;
	if (argc > 1) {
		fprintf(stderr, "usage: receiver cert show\n");
		return RCV_EXIT_USAGE;
	}
	if (!active_pair(c, &cp, &kp, &demo)) {
		printf("no certificate in %s/certs: the demonstration certificate is made on the "
		       "first start\n",
		       c->data_dir);
		return RCV_EXIT_OK;
	}
	struct mt_err e;
	mt_status st;
	char *pem = read_text(cp, &e, &st), *text = NULL;
	int rc = RCV_EXIT_OK;
	if (!pem || (st = mt_certgen_describe(pem, &text, &e)) != MT_OK) {
		rc = fail("show", st, &e);
		goto out;
	}
	printf("Certificate file: %s%s\nKey file: %s\n", cp,
	       demo ? " (demonstration certificate, not for production)" : "", kp);
	if (rcv_cert_check_key_mode(kp, &e) != MT_OK)
		printf("WARNING: %s\n", e.msg);
	fputs(text, stdout);
	char *key = read_text(kp, &e, &st);
	if (key) {
		char *out = NULL, *notes = NULL;
		st = mt_certgen_check_install(key, pem, NULL, 0, &out, &notes, &e);
		if (st == MT_OK)
			printf("Key matches the certificate; chain order ok\n");
		else {
			printf("PROBLEM: %s\n", e.msg);
			rc = st == MT_ERR_VERIFY ? RCV_EXIT_CHECK : RCV_EXIT_USAGE;
		}
		memset(key, 0, strlen(key));
		free(key);
		free(out);
		free(notes);
	}
out:
	free(pem);
	free(text);
	free(cp);
	free(kp);
	return rc;
}

int rcv_cert_cmd(struct rcv_config *c, int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "usage: receiver cert new|install|export|import|show ...\n");
		return RCV_EXIT_USAGE;
	}
	if (!strcmp(argv[0], "new"))
		return cmd_new(c, argc, argv);
	if (!strcmp(argv[0], "install"))
		return cmd_install(c, argc, argv);
	if (!strcmp(argv[0], "export"))
		return cmd_export(c, argc, argv);
	if (!strcmp(argv[0], "import"))
		return cmd_import(c, argc, argv);
	if (!strcmp(argv[0], "show"))
		return cmd_show(c, argc, argv);
	fprintf(stderr,
	        "receiver cert: unknown subcommand '%s' (new, install, export, import, "
	        "show)\n",
	        argv[0]);
	return RCV_EXIT_USAGE;
}
