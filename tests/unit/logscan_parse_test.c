/* logscan_parse_test.c — table-driven tests of the per-format line parsers: each row is a
 * log line and the event fields it must produce. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers" /* sparse table rows */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../logscan/logscan_parse.h"

struct row {
	const char *line;
	int result, kind, fmt, dir, tls;
	const char *connid, *msgid, *ip, *host, *proto, *cipher, *verify, *reason_sub, *rcpt_domain;
	int bits, cause;
	long long ts; /* 0 = not checked */
	int port, conn_use, reused; /* Postfix client; checked for every row (0 = none) */
	const char *link;	    /* checked for every row (NULL = none) */
	int copy;
	const char *level; /* Postfix tls=: checked for every row (NULL = none) */
};

static void str_eq(const char *what, const char *line, const char *want, struct mt_ls_str got)
{
	if (!want)
		return;
	if (strlen(want) != got.n || (got.n && memcmp(want, got.p, got.n) != 0)) {
		print_error("%s: %s: want '%s' got '%.*s'\n", line, what, want, (int)got.n, got.p ? got.p : "");
		fail();
	}
}

static const struct row rows[] = {
    /* the ESA guide's four examples */
    {"Tue Apr 17 00:57:53 2018 Info: New SMTP ICID 590125205 interface Data 1 (192.168.1.1) address 10.0.0.1 reverse dns host mail.example.com verified yes",
     MT_LS_EVENT, MT_LS_EV_CONN_OPEN, MT_LS_FMT_ESA, MT_LS_DIR_IN, 0, "590125205", NULL, "10.0.0.1", "mail.example.com", .ts = 1523926673},
    {"Tue Apr 17 00:57:54 2018 Info: ICID 590125205 TLS success protocol TLSv1 cipher DHE-RSA-AES256-SHA",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_ESA, MT_LS_DIR_IN, MT_LS_TLS_OK, "590125205", .proto = "TLSv1", .cipher = "DHE-RSA-AES256-SHA"},
    {"Tue Apr 17 00:57:55 2018 Info: Start MID 179701980 ICID 590125205",
     MT_LS_EVENT, MT_LS_EV_MSG_RECV, MT_LS_FMT_ESA, MT_LS_DIR_IN, 0, "590125205", "179701980"},
    {"Mon Apr 16 18:59:14 2018 Info: ICID 590052584 TLS failed: (336109761, 'error:1408A0C1:SSL routines:SSL3_GET_CLIENT_HELLO:no shared cipher')",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_ESA, MT_LS_DIR_IN, MT_LS_TLS_FAILED, "590052584", .reason_sub = "no shared cipher"},
    {"Mon Apr 16 18:59:14 2018 Info: ICID 590052584 close", MT_LS_EVENT, MT_LS_EV_CONN_CLOSE, MT_LS_FMT_ESA, MT_LS_DIR_IN, 0, "590052584"},
    {"Mon Apr 16 18:59:14 2018 Info: ICID 590052584 lost", MT_LS_IGNORED},
    {"Tue Apr 17 00:58:02 2018 Info: New SMTP DCID 41014367 interface 192.168.1.1 address 10.0.0.1 port 25",
     MT_LS_EVENT, MT_LS_EV_CONN_OPEN, MT_LS_FMT_ESA, MT_LS_DIR_OUT, 0, "41014367", NULL, "10.0.0.1"},
    {"Tue Apr 17 00:58:03 2018 Info: Delivery start DCID 41014367 MID 179701982 to RID [0]",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_ESA, MT_LS_DIR_OUT, 0, "41014367", "179701982"},
    {"Mon Apr 16 00:01:35 2018 Info: Connection Error: DCID 40986669 domain: domain IP:10.0.0.1 port: 25 details: 454-'TLS not available due to temporary reason' interface: 192.168.1.1 reason: unexpected SMTP response",
     MT_LS_EVENT, MT_LS_EV_CONN_INFO, MT_LS_FMT_ESA, MT_LS_DIR_OUT, 0, "40986669", NULL, "10.0.0.1", .reason_sub = "454-'TLS not available due to temporary reason'"},
    {"Mon Apr 16 00:01:35 2018 Info: DCID 40986669 TLS failed: STARTTLS unexpected response",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_ESA, MT_LS_DIR_OUT, MT_LS_TLS_FAILED, "40986669", .reason_sub = "STARTTLS unexpected response"},
    /* ESA old forms, syslog-pushed, required */
    {"Wed Jul 20 19:47:40 2005 Info: ICID 282204970 TLS success", MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_ESA, MT_LS_DIR_IN, MT_LS_TLS_OK, "282204970"},
    {"Tue Jun 28 19:08:49 2005 Info: ICID 282204971 TLS failed", MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_ESA, MT_LS_DIR_IN, MT_LS_TLS_FAILED, "282204971"},
    {"<166>Mar 17 18:24:37 mail_logs: Info: Start MID 6 ICID 5", MT_LS_EVENT, MT_LS_EV_MSG_RECV, MT_LS_FMT_ESA, MT_LS_DIR_IN, 0, "5", "6"},
    {"<166>Mar 17 18:24:37 esa1.example.net mail_logs: Info: DCID 7 TLS success protocol TLSv1.2 cipher AES128-SHA CN: <mx.example.org>",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_ESA, MT_LS_DIR_OUT, MT_LS_TLS_OK, "7", .proto = "TLSv1.2", .cipher = "AES128-SHA"},
    {"Tue Apr 17 01:00:00 2018 Info: DCID 9 TLS was required but remote host did not offer STARTTLS", MT_LS_EVENT, MT_LS_EV_REQFAIL,
     MT_LS_FMT_ESA, MT_LS_DIR_OUT, 0, "9", .cause = MT_LS_CAUSE_NOT_ADVERTISED},
    {"Wed Sep  6 13:13:16 2023 Debug: MID 14 ICID 14 TLS read 126 bytes (0.0 seconds)", MT_LS_IGNORED},
    {"Wed Nov 19 09:16:38 2014 Info: MID 24611490 ICID 60140120 RID 0 To: <user1@mycompany.com>", MT_LS_EVENT, MT_LS_EV_MSG_RCPT,
     MT_LS_FMT_ESA, 0, 0, NULL, "24611490", .rcpt_domain = "mycompany.com"},
    /* Postfix */
    {"Jul 24 04:38:17 mail postfix/smtp[30582]: Verified TLS connection established to gmail-smtp-in.l.google.com[108.177.14.26]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, MT_LS_TLS_OK, NULL, NULL, "108.177.14.26", "gmail-smtp-in.l.google.com",
     "TLSv1.3", "TLS_AES_256_GCM_SHA384", "Verified", .bits = 256, .port = 25},
    {"2023-03-14T00:00:31.331110+01:00 helga postfix/smtpd[297535]: Anonymous TLS connection established from host1.example.de[192.0.2.128]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_POSTFIX, MT_LS_DIR_IN, MT_LS_TLS_OK, NULL, NULL, "192.0.2.128", "host1.example.de", "TLSv1.3",
     .verify = "Anonymous", .ts = 1678752031},
    {"Feb 14 18:47:40 mail postfix/smtpd[1749]: SSL_accept error from www6.example.com[192.0.2.50]: -1", MT_LS_EVENT, MT_LS_EV_CONN_TLS,
     MT_LS_FMT_POSTFIX, MT_LS_DIR_IN, MT_LS_TLS_FAILED, NULL, NULL, "192.0.2.50", "www6.example.com", .reason_sub = "SSL_accept error"},
    {"Feb 14 18:47:40 mail postfix/smtpd[1749]: warning: TLS library problem: error:1417A0C1:SSL routines:tls_post_process_client_hello:no shared cipher:../ssl/statem/statem_srvr.c:1419:",
     MT_LS_EVENT, MT_LS_EV_CONN_INFO, MT_LS_FMT_POSTFIX, MT_LS_DIR_IN, 0, .reason_sub = "no shared cipher"},
    {"Oct 10 19:12:13 sender postfix/smtp[1711]: 62D3F481249: to=<vagrant@example.org>, relay=mx.example.org[192.0.2.7]:25, delay=0.07, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.example.org[192.0.2.7])",
     MT_LS_EVENT, MT_LS_EV_REQFAIL, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "62D3F481249", "192.0.2.7", "mx.example.org",
     .rcpt_domain = "example.org", .cause = MT_LS_CAUSE_NOT_ADVERTISED, .port = 25},
    {"Jun  6 00:22:01 precise32 postfix/smtp[3682]: AF3B6480475: to=<v@example.com>, relay=example.com[192.0.2.7]:25, delay=0.06, dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)",
     MT_LS_EVENT, MT_LS_EV_REQFAIL, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, .msgid = "AF3B6480475", .cause = MT_LS_CAUSE_HANDSHAKE, .port = 25},
    {"Sep 23 15:57:41 mail postfix/smtp[3646046]: 838FC8A5F: to=<x@example.com>, relay=mx.example.com[192.0.2.27]:25, delay=1.2, dsn=2.0.0, status=sent (250 2.0.0 OK)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "838FC8A5F", "192.0.2.27", "mx.example.com", .rcpt_domain = "example.com", .port = 25},
    /* Postfix 3.11 adds "tls=<level>" between delays= and dsn= (the shape of the example in
     * its announcement): still the same delivery */
    {"Sep 30 23:05:38 mx postfix/smtp[793146]: 01E12901F9D: to=<list@example.org>, relay=list.example.org[192.0.2.195]:25, delay=5.4, delays=0.08/0.01/3.5/1.9, tls=dane, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4cbdb56t4MzPjfw)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "01E12901F9D", "192.0.2.195", "list.example.org",
     .rcpt_domain = "example.org", .port = 25, .link = "4cbdb56t4MzPjfw", .level = "dane"},
    /* its value as logged, the TLS features after the level: a downgrade (':'), REQUIRETLS
     * ('/'), its violation ('!'), an undecided policy ('?'); right after relay= too, with
     * conn_use= before it, or no dsn= after it */
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, relay=mail.example.com[192.0.2.4]:25, delay=3.6, delays=0.08/0.02/0.85/0.14, tls=may:none, dsn=2.1.5, status=sent (250 2.0.0 Ok: queued as 153053D)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", "192.0.2.4", "mail.example.com",
     .rcpt_domain = "example.com", .port = 25, .link = "153053D", .level = "may:none"},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, relay=mail.example.com[192.0.2.4]:25, delay=3.6, delays=0.08/0.02/0.85/0.14, tls=dane/!requiretls:nocertmatch, dsn=2.1.5, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25, .level = "dane/!requiretls:nocertmatch"},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, relay=mail.example.com[192.0.2.4]:25, tls=may?, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25, .level = "may?"},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, orig_to=<u>, relay=mail.example.com[192.0.2.4]:25, conn_use=2, delay=0.31, delays=0.06/0.05/0.07/0.12, tls=encrypt/(requiretls), dsn=2.0.0, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25, .conn_use = 2,
     .level = "encrypt/(requiretls)"},
    /* a deferral at a mandatory level carries it too */
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, relay=mx.example.com[192.0.2.4]:25, delay=0.07, tls=encrypt, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host mx.example.com[192.0.2.4])",
     MT_LS_EVENT, MT_LS_EV_REQFAIL, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", "192.0.2.4", .rcpt_domain = "example.com",
     .cause = MT_LS_CAUSE_NOT_ADVERTISED, .port = 25, .level = "encrypt"},
    /* not a field: in the reply, after status= (here and on the searching path a recipient
     * with a space takes), or further back than the 64 bytes before status= (Postfix writes it
     * right before dsn=) */
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, relay=mail.example.com[192.0.2.4]:25, delay=1, dsn=2.0.0, status=sent (250 ok, tls=may, x)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<\"a b\"@example.com>, relay=mail.example.com[192.0.2.4]:25, delay=1, dsn=2.0.0, status=sent (250 ok, tls=may, x)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<\"a b\"@example.com>, relay=mail.example.com[192.0.2.4]:25, delay=1, tls=dane, dsn=2.0.0, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25, .level = "dane"},
    /* the searching path reads it by the same rule: after to= and relay=, to the next ',' */
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<\"x tls=bogus\"@b.example>, relay=mx.b.example[192.0.2.11]:25, delay=1, delays=0.1/0/0.5/0.4, tls=dane, dsn=2.0.0, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25, .level = "dane"},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<\"a b\"@d.example>, relay=mx.d.example[192.0.2.11]:25, tls=may:none,dsn=4.7.4, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25, .level = "may:none"},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, relay=mail.example.com[192.0.2.4]:25, tls=may, delays=0.08/0.02/0.85/0.14, dsn=2.1.5, x=aaaaaaaaaaaa, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25},
    {"Oct  1 10:00:01 mx postfix/smtp[7]: 7EE668039: to=<user@example.com>, relay=mail.example.com[192.0.2.4]:25, tls=may, delays=0.08/0.02/0.85/0.14, dsn=2.1.5, x=aaaaaaaaaaa, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE668039", .port = 25, .level = "may"},
    /* a short line: the bytes before it are not read (byte by byte; ASan checks) */
    {"postfix/smtp[7]: 7EE6680: to=<a@b>, relay=c[192.0.2.4]:25, tls=dane, status=sent",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "7EE6680", .port = 25, .level = "dane"},
    {"Sep 23 15:57:41 mail postfix/smtpd[1]: 838FC8A5F: client=unknown[192.0.2.1]", MT_LS_EVENT, MT_LS_EV_MSG_RECV, MT_LS_FMT_POSTFIX,
     MT_LS_DIR_IN, 0, NULL, "838FC8A5F", "192.0.2.1", "unknown"},
    {"Sep 23 15:57:41 mail postfix/qmgr[9]: 838FC8A5F: removed", MT_LS_EVENT, MT_LS_EV_MSG_DONE, MT_LS_FMT_POSTFIX, 0, 0, NULL, "838FC8A5F"},
    {"Sep 23 15:57:41 mail postfix/local[9]: 838FC8A5F: to=<a@b>, relay=local, status=sent (delivered)", MT_LS_IGNORED},
    {"Sep 23 15:57:41 mail dovecot[9]: imap-login: Login", MT_LS_IGNORED},
    /* Postfix 3.4+ smtp_tls_connection_reuse (as Postfix 3.7 logs it); the server side never reuses */
    {"Nov 29 14:37:47 mx postfix/smtp[13337]: Untrusted TLS connection reused to 127.0.0.1[127.0.0.1]:31101: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, MT_LS_TLS_OK, NULL, NULL, "127.0.0.1", "127.0.0.1", "TLSv1.3",
     "TLS_AES_256_GCM_SHA384", "Untrusted", .bits = 256, .port = 31101, .reused = 1},
    {"Nov 29 14:37:47 mx postfix/smtpd[13337]: Untrusted TLS connection reused from a[192.0.2.1]: TLSv1.3 with cipher X (256/256 bits)",
     MT_LS_IGNORED},
    {"Nov 29 14:37:47 mx postfix/smtp[13337]: CA087A743DC: to=<u10@tls.out.example>, relay=127.0.0.1[127.0.0.1]:31101, conn_use=4, delay=2.7, delays=2.7/0.09/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 11)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "CA087A743DC", "127.0.0.1", "127.0.0.1",
     .rcpt_domain = "tls.out.example", .port = 31101, .conn_use = 4, .link = "11"},
    /* a message handed to a content filter and queued again: amavis's reply, Postfix's own */
    {"2023-03-14T17:11:21.610976+01:00 helga postfix/amavis/smtp[374053]: 4Pbdn10BG2z3tBr: to=<user01.test@uhu-banane.net>, relay=127.0.0.1[127.0.0.1]:10024, delay=4.8, delays=0.72/0.02/0.01/4.1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4Pbdn5491gz3tG3)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "4Pbdn10BG2z3tBr", "127.0.0.1", .port = 10024, .link = "4Pbdn5491gz3tG3"},
    {"Nov 29 16:57:35 mx postfix/filt/smtp[23536]: A0C0AAB4515: to=<m1@tls.out.example>, relay=127.0.0.1[127.0.0.1]:58257, delay=0.03, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as A5299AB4517)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "A0C0AAB4515", "127.0.0.1", .port = 58257, .link = "A5299AB4517"},
    /* no id after it, or not sent: nothing to link */
    {"Nov 29 16:57:35 mx postfix/smtp[23536]: A0C0AAB4515: to=<m1@t.example>, relay=127.0.0.1[127.0.0.1]:58257, delay=0.03, delays=0.01/0.01/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as )",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "A0C0AAB4515", .port = 58257},
    {"Nov 29 16:57:35 mx postfix/smtp[23536]: A0C0AAB4515: to=<m1@t.example>, relay=127.0.0.1[127.0.0.1]:58257, delay=0.03, delays=0.01/0.01/0/0, dsn=4.0.0, status=deferred (450 4.0.0 queued as A5299AB4517 later)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "A0C0AAB4515", .port = 58257},
    /* smtp_tls_security_level may: the handshake failed, the client goes on in clear */
    {"Nov 29 16:56:37 mx postfix/smtp[16220]: 493C6AB42B5: Cannot start TLS: handshake failure",
     MT_LS_EVENT, MT_LS_EV_CONN_CLOSE, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "493C6AB42B5"},
    {"Nov 29 16:56:37 mx postfix/smtpd[16220]: 493C6AB42B5: Cannot start TLS: handshake failure", MT_LS_IGNORED},
    /* ESA messages made from others (the AsyncOS guide's forms, and the 2014 sample's) */
    {"Wed Nov 19 09:16:38 2014 Info: MID 24611495 was generated based on MID 24611421 by bcc filter 'FireEye_BCC'",
     MT_LS_EVENT, MT_LS_EV_MSG_LINK, MT_LS_FMT_ESA, 0, 0, NULL, "24611495", .link = "24611421", .copy = 1},
    {"Tue Jun  1 20:02:16 2004 Info: MID 14 generated based on MID 13 by bcc filter 'nonetest'",
     MT_LS_EVENT, MT_LS_EV_MSG_LINK, MT_LS_FMT_ESA, 0, 0, NULL, "14", .link = "13", .copy = 1},
    {"Tue Jan  6 15:03:18 2004 Info: MID 2 rewritten to 3 by antispam",
     MT_LS_EVENT, MT_LS_EV_MSG_LINK, MT_LS_FMT_ESA, 0, 0, NULL, "3", .link = "2"},
    {"Fri May 14 20:44:43 2004 Info: MID 483 rewritten to MID 513 by Policy Quarantine",
     MT_LS_EVENT, MT_LS_EV_MSG_LINK, MT_LS_FMT_ESA, 0, 0, NULL, "513", .link = "483"},
    {"Fri May 14 20:44:43 2004 Info: MID 483 rewritten to nowhere by Policy Quarantine", MT_LS_UNPARSED},
    {"Fri May 14 20:44:43 2004 Info: MID 483 ready 2069 bytes from <noreply@cisco.com>", MT_LS_IGNORED},
    {"Fri May 14 20:44:43 2004 Info: MID 483 was quarantined", MT_LS_IGNORED},
    /* Postfix 3.x "server certificate verification failed" (2.x: without "server "), before the TLS line */
    {"Nov 29 14:48:52 mx postfix/smtp[24031]: server certificate verification failed for 127.0.0.1[127.0.0.1]:31101: num=62:hostname mismatch",
     MT_LS_EVENT, MT_LS_EV_CONN_INFO, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, MT_LS_TLS_FAILED, NULL, NULL, "127.0.0.1", "127.0.0.1",
     .verify = "failed", .reason_sub = "num=62:hostname mismatch", .port = 31101},
    {"Nov 21 18:40:03 node1 postfix/smtp[16969]: certificate verification failed for mx.example.de[192.0.2.210]:25: untrusted issuer /C=de/CN=X CA",
     MT_LS_EVENT, MT_LS_EV_CONN_INFO, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, MT_LS_TLS_FAILED, NULL, NULL, "192.0.2.210", "mx.example.de",
     .verify = "failed", .reason_sub = "untrusted issuer", .port = 25},
    {"Nov 29 14:48:52 mx postfix/smtp[24031]: 78310A7427C: to=<e2@tls.out.example>, relay=127.0.0.1[127.0.0.1]:31101, delay=0.01, delays=0/0/0.01/0, dsn=4.7.5, status=deferred (Server certificate not verified)",
     MT_LS_EVENT, MT_LS_EV_REQFAIL, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "78310A7427C", "127.0.0.1", "127.0.0.1",
     .rcpt_domain = "tls.out.example", .cause = MT_LS_CAUSE_VERIFY, .port = 31101},
    /* LMTP into Dovecot over a UNIX-domain socket: no network connection (as relay=local);
     * over TCP it is one */
    {"Jul 23 19:38:16 ngm postfix/lmtp[105198]: CFDA41FBCEF: to=<test@nac.example>, relay=ngm.example.gr[private/dovecot-lmtp], delay=0.08, delays=0.03/0.02/0.02/0.01, dsn=2.0.0, status=sent (250 2.0.0 <test@nac.example> fF52NXhDYmrvmgEA6PiUog Saved)",
     MT_LS_IGNORED},
    {"Jul 23 19:38:16 ngm postfix/lmtp[105198]: CFDA41FBCEF: to=<test@nac.example>, relay=ngm.example.gr[/var/run/dovecot/lmtp], delay=0.08, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
     MT_LS_IGNORED},
    {"Jul 23 19:38:16 ngm postfix/lmtp[105198]: CFDA41FBCEF: to=<test@nac.example>, relay=127.0.0.1[127.0.0.1]:24, delay=0.08, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "CFDA41FBCEF", "127.0.0.1", "127.0.0.1",
     .rcpt_domain = "nac.example", .port = 24},
    /* the relay transport under the stock master.cf syslog_name, as Postfix 2 logged it */
    {"Aug  5 10:00:00 relay1 postfix/relay[99]: B2C3D4E5F6: to=<a@b.example>, relay=mailgw.example.net[192.0.2.25]:25, delay=0.5, dsn=2.0.0, status=sent (250 ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, 0, NULL, "B2C3D4E5F6", "192.0.2.25", "mailgw.example.net",
     .rcpt_domain = "b.example", .port = 25},
    {"postfix/smtp[10967]: Verified TLS connection established to smtp.example.com[192.0.2.9]:465: TLSv1.2 with cipher ECDHE-RSA-CHACHA20-POLY1305 (256/256 bits)",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_POSTFIX, MT_LS_DIR_OUT, MT_LS_TLS_OK, .proto = "TLSv1.2", .port = 465},
    /* Exim */
    {"2023-11-02 20:55:11 1qyjOm-0000Jc-1Z => me@example.net R=smarthost T=remote_smtp H=smtp.example.net [192.0.2.109] X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=yes DN=\"CN=smtp.example.net\" C=\"250 OK\"",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_EXIM, MT_LS_DIR_OUT, MT_LS_TLS_OK, NULL, "1qyjOm-0000Jc-1Z", "192.0.2.109", "smtp.example.net",
     "TLS1.3", "ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM", "yes", .rcpt_domain = "example.net", .bits = 256},
    {"1999-03-02 09:44:33 10HmbF-000000005vi-0000 <= CALLER@myhost.test.ex H=localhost (myhost.test.ex) [127.0.0.1] P=esmtps X=TLS1.2:ke-RSA-AES256-SHA384:256 S=sss",
     MT_LS_EVENT, MT_LS_EV_MSG_RECV, MT_LS_FMT_EXIM, MT_LS_DIR_IN, MT_LS_TLS_OK, NULL, "10HmbF-000000005vi-0000", "127.0.0.1", "localhost", "TLS1.2"},
    {"1999-03-02 09:44:33 10HmbH-000000005vi-0000 <= CALLER@myhost.test.ex H=the.local.host.name (myhost.test.ex) [192.0.2.4] P=esmtp S=sss",
     MT_LS_EVENT, MT_LS_EV_MSG_RECV, MT_LS_FMT_EXIM, MT_LS_DIR_IN, MT_LS_TLS_NONE, NULL, "10HmbH-000000005vi-0000", "192.0.2.4"},
    {"2023-09-06 18:13:04 TLS error on connection from localhost [127.0.0.1] (SSL_accept): timed out", MT_LS_EVENT, MT_LS_EV_CONN_TLS,
     MT_LS_FMT_EXIM, MT_LS_DIR_IN, MT_LS_TLS_FAILED, NULL, NULL, "127.0.0.1", "localhost", .reason_sub = "timed out"},
    {"exim[2281188]: 2026-05-08 05:06:30 TLS error on connection from (scanner) [192.0.2.10] (gnutls_handshake): No supported cipher suites have been found.",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_EXIM, MT_LS_DIR_IN, MT_LS_TLS_FAILED, NULL, NULL, "192.0.2.10"},
    {"1999-03-02 09:44:33 10HmaX-000000005vi-0000 == userx@test.ex R=client_x T=send_to_server_failcert defer (-37) H=192.0.2.4 [192.0.2.4]: TLS session: (certificate verification failed): certificate invalid",
     MT_LS_EVENT, MT_LS_EV_REQFAIL, MT_LS_FMT_EXIM, MT_LS_DIR_OUT, MT_LS_TLS_FAILED, NULL, "10HmaX-000000005vi-0000", "192.0.2.4", .cause = MT_LS_CAUSE_VERIFY},
    {"2024-01-02 10:00:00 1rAbCd-000000005vi-0000 == u@example.org R=dnslookup T=remote_smtp defer (-38) H=mx.example.org [192.0.2.5]: a TLS session is required, but the server did not offer TLS support",
     MT_LS_EVENT, MT_LS_EV_REQFAIL, MT_LS_FMT_EXIM, MT_LS_DIR_OUT, MT_LS_TLS_NONE, .cause = MT_LS_CAUSE_NOT_ADVERTISED},
    {"1999-03-02 09:44:33 10HmaX-000000005vi-0000 Completed", MT_LS_EVENT, MT_LS_EV_MSG_DONE, MT_LS_FMT_EXIM, 0, 0, NULL, "10HmaX-000000005vi-0000"},
    {"1999-03-02 09:44:33 Start queue run: pid=p1234 -qf", MT_LS_IGNORED},
    /* Sendmail */
    {"Dec  6 11:56:09 b.mail.example.net sm-mta[10180]: STARTTLS=server, relay=client.example.com [192.0.2.25], version=TLSv1/SSLv3, verify=NO, cipher=AES128-SHA, bits=128/128",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_SENDMAIL, MT_LS_DIR_IN, MT_LS_TLS_OK, NULL, NULL, "192.0.2.25", "client.example.com", "TLSv1/SSLv3",
     "AES128-SHA", "NO", .bits = 128},
    {"Sep  9 11:59:01 ip-172-31-40-194 sm-mta[7423]: STARTTLS=client, relay=gmail-smtp-in.l.google.com., version=TLSv1.3, verify=FAIL, cipher=TLS_AES_256_GCM_SHA384, bits=256/256",
     MT_LS_EVENT, MT_LS_EV_CONN_TLS, MT_LS_FMT_SENDMAIL, MT_LS_DIR_OUT, MT_LS_TLS_OK, NULL, NULL, NULL, "gmail-smtp-in.l.google.com", "TLSv1.3",
     .verify = "FAIL"},
    {"Dec  4 10:24:32 c.spam.example.net sendmail[32283]: STARTTLS=client, error: connect failed=0, SSL_error=5", MT_LS_EVENT, MT_LS_EV_CONN_TLS,
     MT_LS_FMT_SENDMAIL, MT_LS_DIR_OUT, MT_LS_TLS_FAILED, .reason_sub = "connect failed=0"},
    {"Dec  4 10:24:32 c.spam.example.net sendmail[32283]: ruleset=tls_server, arg1=SOFTWARE, relay=mx.example.com, reject=403 4.7.0 TLS handshake failed.",
     MT_LS_EVENT, MT_LS_EV_REQFAIL, MT_LS_FMT_SENDMAIL, MT_LS_DIR_OUT, 0, NULL, NULL, NULL, "mx.example.com", .cause = MT_LS_CAUSE_HANDSHAKE},
    {"Sep  9 11:59:01 ip-172-31-40-194 sm-mta[7423]: x89Bx1iP007421: to=<a@example.com>, ctladdr=<root@h> (0/0), delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=120746, relay=mx.example.com. [192.0.2.26], dsn=2.0.0, stat=Sent (OK)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_SENDMAIL, MT_LS_DIR_OUT, 0, NULL, "x89Bx1iP007421", "192.0.2.26", "mx.example.com", .rcpt_domain = "example.com"},
    {"Nov 13 14:52:10 a.mail.example.net sm-mta[16961]: qADMh0cd016570: to=<a@example.com>,<b@example.net>, delay=00:09:09, mailer=esmtp, pri=4437228, relay=mx.example.com. [192.0.2.22], dsn=2.0.0, stat=Sent (ok)",
     MT_LS_EVENT, MT_LS_EV_DELIVERY, MT_LS_FMT_SENDMAIL, MT_LS_DIR_OUT, .rcpt_domain = "example.net"},
    {"Sep  9 11:59:01 h sm-mta[7421]: x89Bx1iP007421: from=<root@h>, size=746, class=0, nrcpts=1, proto=ESMTP, daemon=MTA-v4, relay=localhost [127.0.0.1]",
     MT_LS_EVENT, MT_LS_EV_MSG_RECV, MT_LS_FMT_SENDMAIL, MT_LS_DIR_IN, 0, NULL, "x89Bx1iP007421", "127.0.0.1", "localhost"},
    /* AsyncOS consolidated event log (CEF): one summary event per message, in every shape it
     * comes in; another product's CEF line is not ours, a consolidated one without ESAMID is
     * unreadable */
    {"CEF:0|Cisco|C300V Email Security Virtual Appliance|13.0.0-392|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=1251793 ESAICID=7186532 sourceAddress=192.0.2.4",
     MT_LS_EVENT, MT_LS_EV_SUMMARY, MT_LS_FMT_ESA, 0, 0, NULL, "1251793"},
    {"Sun Aug 25 12:37:08 2019 CEF:0|Cisco|C100V Email Security Virtual Appliance|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|cs6Label= SDRRepScore cs6=Tainted  ESAMID=1437 startTime=Sun Aug 25 12:35:39 2019",
     MT_LS_EVENT, MT_LS_EV_SUMMARY, MT_LS_FMT_ESA, 0, 0, NULL, "1437", .ts = 1566736628},
    {"Aug 25 12:37:08 esa1 CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=99 ESADCID=5",
     MT_LS_EVENT, MT_LS_EV_SUMMARY, MT_LS_FMT_ESA, 0, 0, NULL, "99", .ts = 1535200628},
    {"<166>Aug 25 12:37:08 esa1 mail_logs: CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|msg=a\\=b ESAMID=98",
     MT_LS_EVENT, MT_LS_EV_SUMMARY, MT_LS_FMT_ESA, 0, 0, NULL, "98", .ts = 1535200628},
    /* under the name the administrator gave the log subscription: read by its message; that
     * tag's other lines, and another product's CEF under it, are not ours */
    {"<14>Aug 25 12:37:08 esa1 consolidated_logs: CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=97",
     MT_LS_EVENT, MT_LS_EV_SUMMARY, MT_LS_FMT_ESA, 0, 0, NULL, "97", .ts = 1535200628},
    {"<14>Aug 25 12:37:08 esa1 consolidated_logs: Info: CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=96",
     MT_LS_EVENT, MT_LS_EV_SUMMARY, MT_LS_FMT_ESA, 0, 0, NULL, "96", .ts = 1535200628},
    {"consolidated_logs: CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=95",
     MT_LS_EVENT, MT_LS_EV_SUMMARY, MT_LS_FMT_ESA, 0, 0, NULL, "95"},
    {"<14>Aug 25 12:37:08 esa1 consolidated_logs: started", MT_LS_IGNORED},
    {"<14>Aug 25 12:37:08 fw1 ids: CEF:0|Security|threatmanager|1.0|100|worm stopped|10|src=10.0.0.1", MT_LS_IGNORED},
    /* a truncated header: another product's is not ours, Cisco's is unreadable */
    {"<14>Aug 25 12:37:09 fw1 ids: CEF:0|Vendor|Prod|1.0|100|short", MT_LS_IGNORED},
    {"<14>Aug 25 12:37:09 esa1 consolidated_logs: CEF:0|Cisco|C100V|13.0.0-283|ESA_CONSOLIDATED_LOG_EVENT", MT_LS_UNPARSED},
    {"CEF:0|Ci\\|sco|C300V|13.0.0-392|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=1", MT_LS_IGNORED},
    {"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232", MT_LS_IGNORED},
    {"Aug 25 12:37:08 esa1 CEF:0|Cisco|C100V|13.0.0-283|ESA_TEXT_MAIL_LOG|x|5|ESAMID=1", MT_LS_IGNORED},
    {"CEF:0|Cisco|C300V|13.0.0-392|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAICID=7 msg=ESAMID\\=5", MT_LS_UNPARSED},
    {"CEF:0|Cisco|C300V|13.0.0-392|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|ESAMID=12x", MT_LS_UNPARSED},
    {"CEF:0|Cisco|C300V|13.0.0-392|ESA_CONSOLIDATED_LOG_EVENT", MT_LS_UNPARSED},
    /* not ours / garbage */
    {"hello world", MT_LS_UNPARSED},
    {"", MT_LS_IGNORED},
    {"Tue Apr 17 00:57:53 2018", MT_LS_UNPARSED},
    {"<166>", MT_LS_UNPARSED},
    {"\x01\x02\xff\xfe binary", MT_LS_UNPARSED},
};

static void test_rows(void **state)
{
	(void)state;
	struct mt_ls_parse_opts o = {.year = 2018};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct mt_ls_event ev;
		memset(&ev, 0, sizeof ev);
		int res = mt_ls_parse_line(r->line, strlen(r->line), &o, &ev);
		if (res != r->result) {
			print_error("row %zu '%s': result %d want %d\n", i, r->line, res, r->result);
			fail();
		}
		if (res != MT_LS_EVENT)
			continue;
		if (ev.kind != r->kind || ev.fmt != r->fmt || (r->dir && ev.dir != r->dir) || ev.tls != r->tls) {
			print_error("row %zu '%s': kind %d/%d fmt %d/%d dir %d/%d tls %d/%d\n", i, r->line, ev.kind, r->kind,
				    ev.fmt, r->fmt, ev.dir, r->dir, ev.tls, r->tls);
			fail();
		}
		str_eq("connid", r->line, r->connid, ev.connid);
		str_eq("msgid", r->line, r->msgid, ev.msgid);
		str_eq("ip", r->line, r->ip, ev.ip);
		str_eq("host", r->line, r->host, ev.host);
		str_eq("proto", r->line, r->proto, ev.proto);
		str_eq("cipher", r->line, r->cipher, ev.cipher);
		str_eq("verify", r->line, r->verify, ev.verify);
		str_eq("rcpt_domain", r->line, r->rcpt_domain, ev.rcpt_domain);
		if (r->reason_sub && mt_ls_find(ev.reason, r->reason_sub) < 0) {
			print_error("row %zu: reason '%.*s' lacks '%s'\n", i, (int)ev.reason.n, ev.reason.p, r->reason_sub);
			fail();
		}
		if (r->bits)
			assert_int_equal(ev.bits, r->bits);
		if (ev.port != r->port || ev.conn_use != r->conn_use || ev.reused != (r->reused != 0)) {
			print_error("row %zu: port %u conn_use %u reused %d\n", i, ev.port, ev.conn_use, ev.reused);
			fail();
		}
		str_eq("link", r->line, r->link ? r->link : "", ev.link);
		str_eq("level", r->line, r->level ? r->level : "", ev.level);
		if (ev.copy != (r->copy != 0)) {
			print_error("row %zu: copy %d\n", i, ev.copy);
			fail();
		}
		if (r->cause)
			assert_int_equal(ev.cause, r->cause);
		if (r->ts)
			assert_int_equal((long long)ev.ts, r->ts);
	}
}

/* ICID keys differ from DCID keys with the same number, and per syslog host. */
static void test_keys(void **state)
{
	(void)state;
	struct mt_ls_parse_opts o = {.year = 2018};
	struct mt_ls_event a, b, c;
	const char *l1 = "Tue Apr 17 00:57:54 2018 Info: ICID 5 close";
	const char *l2 = "Tue Apr 17 00:57:54 2018 Info: DCID 5 close";
	const char *l3 = "<166>Mar 17 18:24:37 other mail_logs: Info: ICID 5 close";
	assert_int_equal(mt_ls_parse_line(l1, strlen(l1), &o, &a), MT_LS_EVENT);
	assert_int_equal(mt_ls_parse_line(l2, strlen(l2), &o, &b), MT_LS_EVENT);
	assert_int_equal(mt_ls_parse_line(l3, strlen(l3), &o, &c), MT_LS_EVENT);
	assert_true(a.conn != b.conn);
	assert_true(a.conn != c.conn);
	assert_true(a.conn != 0 && b.conn != 0);
}

/* Every prefix of every row parses without reading past its end (ASan checks the bytes). */
static void test_truncations(void **state)
{
	(void)state;
	struct mt_ls_parse_opts o = {.year = 2018};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t n = strlen(rows[i].line);
		for (size_t k = 0; k <= n; k++) {
			char *copy = malloc(k ? k : 1);
			memcpy(copy, rows[i].line, k);
			struct mt_ls_event ev;
			int res = mt_ls_parse_line(copy, k, &o, &ev);
			assert_true(res == MT_LS_EVENT || res == MT_LS_IGNORED || res == MT_LS_UNPARSED);
			free(copy);
		}
	}
}

/* Postfix's disconnect counters: what they say of STARTTLS, from the text after
 * "disconnect from "; every prefix is read within its bytes (heap copies, for ASan). */
static void test_postfix_starttls(void **state)
{
	(void)state;
	static const struct {
		const char *counters;
		int want;
	} t[] = {
	    {"unknown[fe80::1:2:3:4] ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8", MT_LS_TLS_OK},
	    {"internet.nl[62.204.66.10] ehlo=1 starttls=0/1 commands=1/2", MT_LS_TLS_FAILED},
	    {"a.example[192.0.2.1] ehlo=2 starttls=1/2 mail=1 commands=4/5", MT_LS_TLS_OK},
	    {"a.example[192.0.2.1] helo=1 ehlo=1 xclient=1 xforward=2 starttls=3 quit=1", MT_LS_TLS_OK},
	    {"a.example[192.0.2.1] starttls=0/12", MT_LS_TLS_FAILED},
	    {"a.example[192.0.2.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5", MT_LS_TLS_UNSTATED},
	    {"a.example[192.0.2.1] ehlo=1 auth=1 starttls=1", MT_LS_TLS_UNSTATED}, /* not where smtpd writes it */
	    {"a.example[192.0.2.1] ehlo=1 rcpt=0/1 commands=1/2 starttls=1", MT_LS_TLS_UNSTATED},
	    {"a.example[192.0.2.1] ehlo=1 xstarttls=1", MT_LS_TLS_UNSTATED},
	    {"a.example[192.0.2.1] starttls=", MT_LS_TLS_UNSTATED},
	    {"a.example[192.0.2.1] starttls=x", MT_LS_TLS_UNSTATED},
	    {"a.example[192.0.2.1] starttls=0", MT_LS_TLS_UNSTATED}, /* issued none */
	    {"a.example[192.0.2.1] starttls=0/", MT_LS_TLS_UNSTATED},
	    {"a.example[192.0.2.1]", MT_LS_TLS_UNSTATED},
	    {"a.example[192.0.2.1]ehlo=1 starttls=1", MT_LS_TLS_UNSTATED},
	    {"a.example 192.0.2.1 ehlo=1 starttls=1", MT_LS_TLS_UNSTATED}, /* no address brackets */
	    {"", MT_LS_TLS_UNSTATED},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mt_ls_str why = {NULL, 0};
		size_t n = strlen(t[i].counters);
		char *copy = malloc(n ? n : 1);
		memcpy(copy, t[i].counters, n);
		int got = mt_ls_postfix_starttls((struct mt_ls_str){copy, n}, &why);
		if (got != t[i].want)
			fail_msg("%s: got %d, want %d", t[i].counters, got, t[i].want);
		assert_true((got == MT_LS_TLS_FAILED) == (why.n != 0));
		for (size_t k = 0; k < n; k++) /* every tail, ending where the allocation does: ASan sees a read past it */
			(void)mt_ls_postfix_starttls((struct mt_ls_str){copy + n - k, k}, &why);
		free(copy);
	}
}

/* host[ip] splitting: the first '[' and the first ']' after it, wherever the 16-byte steps
 * put them, against a byte loop; every prefix and tail read within its bytes (heap copies,
 * for ASan). */
static bool host_ip_ref(const char *p, size_t n, size_t *lb, size_t *rb)
{
	size_t i = 0;
	while (i < n && p[i] != '[')
		i++;
	if (i == n)
		return false;
	size_t j = i + 1;
	while (j < n && p[j] != ']')
		j++;
	if (j >= n)
		return false;
	*lb = i;
	*rb = j;
	return true;
}

/* Postfix 3.11's tls=: the forms of its pol_stats (level first, REQUIRETLS second, each
 * ["!"]name[":"final]["?"]) and the values seen in the wild; anything else is refused. */
static void test_postfix_tls_status(void **state)
{
	(void)state;
	/* want: "" = refused, else "level|final|flags / requiretls|final|flags" (flags b, u) */
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"dane", "dane||/"},
	    {"may", "may||/"},
	    {"may:none", "may|none|/"},
	    {"!encrypt", "encrypt||b/"},
	    {"!fingerprint", "fingerprint||b/"},
	    {"none?", "none||u/"},
	    {"may?", "may||u/"},
	    {"dane/requiretls", "dane||/requiretls||"},
	    {"dane?/requiretls?", "dane||u/requiretls||u"},
	    {"may:none/!requiretls", "may|none|/requiretls||b"},
	    {"dane-only", "dane-only||/"},
	    {"!first:low", "first|low|b/"},
	    {"first/!second:none", "first||/second|none|b"},
	    {"!first:low?", "first|low|bu/"},
	    {"requiretls", "/requiretls||"},
	    {"encrypt/(requiretls)", "encrypt||/requiretls||"}, /* a pre-release form */
	    {"", ""},
	    {"/", ""},
	    {"may/", ""},
	    {"/requiretls", ""},
	    {"a/b/c", ""},
	    {"!", ""},
	    {"?", ""},
	    {"may:", ""},
	    {":none", ""},
	    {"May", ""},
	    {"may none", ""},
	    {"may,", ""},
	    {"may:none:x", ""},
	    {"averyveryverylongname", ""},
	    {"may:averyveryverylongname", ""},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mt_ls_tls_status st;
		bool ok = mt_ls_postfix_tls_status((struct mt_ls_str){t[i].in, strlen(t[i].in)}, &st);
		char got[128] = "";
		if (ok) {
			char a[48] = "", b[48] = "";
			if (st.level.present)
				snprintf(a, sizeof a, "%s|%s|%s%s", st.level.name, st.level.final, st.level.blocked ? "b" : "",
					 st.level.undecided ? "u" : "");
			if (st.requiretls.present)
				snprintf(b, sizeof b, "%s|%s|%s%s", st.requiretls.name, st.requiretls.final,
					 st.requiretls.blocked ? "b" : "", st.requiretls.undecided ? "u" : "");
			snprintf(got, sizeof got, "%s/%s", a, b);
		}
		if (strcmp(got, t[i].want) != 0)
			fail_msg("tls=%s: got \"%s\", want \"%s\"", t[i].in, got, t[i].want);
		assert_true(ok == (t[i].want[0] != '\0'));
		assert_true(!ok || st.level.present == (st.level.name[0] != '\0'));
		assert_true(!ok || st.requiretls.present == (st.requiretls.name[0] != '\0'));
	}
}

static void test_host_ip(void **state)
{
	(void)state;
	static const char *const t[] = {
	    "c1013.example.org[10.0.3.245]",
	    "mail-wr1-f54.google.com[2a00:1450:4864:20::534]:25",
	    "unknown[192.0.2.1]",
	    "]x[1]",			     /* a ']' before the '[' does not close it */
	    "a]b]c]d]e]f]g]h]i[j]",	     /* the '[' in the second step, ']'s before it in the first */
	    "0123456789abcde[0123456789abcdef]", /* '[' at 15, ']' in the third step */
	    "0123456789abcdef[x]",	     /* '[' at 16 */
	    "0123456789abcdef0123456789abcde[]", /* '[' at 31, ']' at 32 */
	    "host[unclosed",
	    "no brackets at all, and longer than sixteen bytes",
	    "[",
	    "]",
	    "[]",
	    "",
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t n = strlen(t[i]);
		char *copy = malloc(n ? n : 1);
		memcpy(copy, t[i], n);
		for (size_t k = 0; k <= n; k++) {
			for (int tail = 0; tail < 2; tail++) {
				const char *p = tail ? copy + n - k : copy;
				struct mt_ls_str host = {NULL, 0}, ip = {NULL, 0};
				size_t lb = 0, rb = 0;
				bool want = host_ip_ref(p, k, &lb, &rb);
				bool got = mt_ls_host_ip((struct mt_ls_str){p, k}, &host, &ip);
				if (got != want)
					fail_msg("'%.*s': got %d, want %d", (int)k, p, got, want);
				if (want && (host.p != p || host.n != lb || ip.p != p + lb + 1 || ip.n != rb - lb - 1))
					fail_msg("'%.*s': host %zu ip %zu+%zu, want %zu %zu+%zu", (int)k, p, host.n,
						 (size_t)(ip.p - p), ip.n, lb, lb + 1, rb - lb - 1);
			}
		}
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_postfix_starttls),
	    cmocka_unit_test(test_postfix_tls_status),
	    cmocka_unit_test(test_host_ip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
