/* relay_log.c — the relay's two logs: an AsyncOS-style mail log (the lines logscan reads:
 * "New SMTP DCID", "DCID n TLS success|failed", "Delivery start DCID d MID m to RID [..]",
 * "Message finished MID m" ...) and attempts.jsonl, one JSON object per delivery attempt.
 * Both are appended with one write(2) per line under a mutex, so lines from worker threads
 * never interleave and a crash loses at most a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"

static int maillog_fd = -1, attempts_fd = -1;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

mt_status rl_log_open(const struct rl_config *c, struct mt_err *err)
{
	maillog_fd = open(c->maillog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (maillog_fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot open %s: %s", c->maillog, strerror(errno));
	attempts_fd = open(c->attempts, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (attempts_fd < 0)
		return mt_err_set(err, MT_ERR_IO, "cannot open %s: %s", c->attempts,
				  strerror(errno));
	return MT_OK;
}

void rl_log_close(void)
{
	if (maillog_fd >= 0)
		close(maillog_fd);
	if (attempts_fd >= 0)
		close(attempts_fd);
	maillog_fd = attempts_fd = -1;
}

static void put_line(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void rl_maillog(const char *level, const char *fmt, ...)
{
	if (maillog_fd < 0)
		return;
	char line[4096];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	/* "Tue Apr 17 00:58:02 2018 Info: " as AsyncOS writes it */
	size_t n = strftime(line, sizeof line, "%a %b %e %H:%M:%S %Y ", &tm);

	n += (size_t)snprintf(line + n, sizeof line - n, "%s: ", level);
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += (size_t)k < sizeof line - n - 1 ? (size_t)k : sizeof line - n - 2;
	for (size_t i = 0; i < n; i++) /* one event, one line */
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	pthread_mutex_lock(&log_mu);
	put_line(maillog_fd, line, n);
	pthread_mutex_unlock(&log_mu);
}

void rl_attempt_record(const char *json)
{
	if (attempts_fd < 0 || !json)
		return;
	size_t n = strlen(json);
	char *buf = malloc(n + 1);
	if (!buf)
		return;
	memcpy(buf, json, n);
	buf[n] = '\n';
	pthread_mutex_lock(&log_mu);
	put_line(attempts_fd, buf, n + 1);
	pthread_mutex_unlock(&log_mu);
	free(buf);
}
