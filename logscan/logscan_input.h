/* logscan_input.h — line reader over plain, gzip (transparently, via zlib) or stdin input,
 * with optional follow mode that survives log rotation.
 *
 * Lines are returned as slices of the reader's own buffer, valid until the next call.
 * A line longer than the buffer is skipped up to its newline and counted in `overlong`:
 * memory never grows with line length.
 */
#ifndef LOGSCAN_INPUT_H
#define LOGSCAN_INPUT_H

#include "mailtls/util.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_ls_reader {
	void *gz; /* gzFile */
	int fd;
	char *path; /* owned copy; "-" = stdin */
	char *buf;
	size_t cap, start, end;
	bool eof, skipping, follow;
	bool truncated; /* a .gz ended mid-stream */
	dev_t dev;
	ino_t ino;
	uint64_t bytes, overlong, rotations;
	volatile sig_atomic_t *stop; /* follow ends when *stop becomes non-zero */
};

/* Open path ("-" = stdin) with a buffer of bufsize bytes (also the longest line kept). */
mt_status mt_ls_reader_open(struct mt_ls_reader *r, const char *path, size_t bufsize, bool follow,
			    volatile sig_atomic_t *stop, struct mt_err *err);
/* Next line without its newline: 1 = line, 0 = end of input, -1 = read error (err filled). */
int mt_ls_reader_next(struct mt_ls_reader *r, const char **line, size_t *len, struct mt_err *err);
void mt_ls_reader_close(struct mt_ls_reader *r);

#endif
