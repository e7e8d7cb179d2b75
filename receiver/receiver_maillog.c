/* receiver_maillog.c — the AsyncOS-style mail log ("mail_logs"): one line per event,
 * "Tue Apr 17 00:57:53 2018 Info: ICID 5 TLS success protocol TLSv1.2 cipher ...",
 * as Cisco ESAs write it, so logscan (and people used to ESA logs) read it back.
 * Each line goes out with a single write() on an O_APPEND descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "receiver.h"

static int log_fd = 2;

mt_status rcv_maillog_open(const char *path, struct mt_err *err)
{
	if (!path || !strcmp(path, "-")) {
		log_fd = 2;
		return MT_OK;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot open mail log %s: %s", path,
		                  strerror(errno));
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
	return MT_OK;
}

void rcv_maillog_format(char *out, size_t outsz, time_t t, const char *msg)
{
	struct tm tm;
	char when[64];
	localtime_r(&t, &tm);
	/* asctime's layout: day of month padded with a space */
	strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
	snprintf(out, outsz, "%s Info: %s\n", when, msg);
}

void rcv_maillog(const char *fmt, ...)
{
	char msg[2048], line[2200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?'; /* a client's text must never forge a log line */
	rcv_maillog_format(line, sizeof line, time(NULL), msg);
	ssize_t w = write(log_fd, line, strlen(line));
	(void)w;
}

void rcv_maillog_close(void)
{
	if (log_fd > 2)
		close(log_fd);
	log_fd = 2;
}
