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

/* Every reader buffer (the reader's own and those swapped in, mt_ls_reader_swap) is
 * allocated MT_LS_PAD bytes longer than its capacity, zeroed: the bytes up to MT_LS_PAD past
 * the end of any line handed out are readable, so a parser may load 64 bytes at once from a
 * short line (struct mt_ls_parse_opts.padded) and mask off what lies past its end. */
#define MT_LS_PAD 64

struct mt_ls_reader {
	void *gz; /* gzFile */
	int fd;
	char *path; /* owned copy; "-" = stdin */
	char *buf;
	size_t cap, start, end;
	/* While the buffer's front holds complete lines, reading stops at soft and the buffer
	 * is recycled there: only its first part is ever touched (fresh pages cost a fault
	 * each, and a small buffer stays in the cache); only a longer line reads on to cap. */
	size_t soft;
	bool eof, skipping, follow;
	bool truncated; /* a .gz ended mid-stream (a mapped file cut: mt_ls_reader_map_failed) */
	/* A plain regular file (not --follow, not gzip) is mapped, not read: its lines are
	 * handed out in place, which spares the kernel's copy into buf.  buf then points into
	 * the map, up to the last newline whose MT_LS_PAD bytes after it are mapped; the rest is
	 * read() into own, the reader's buffer held meanwhile.  Pages of lines the caller is done
	 * with are dropped (madvise; mt_ls_reader_release), so the map adds a few MB to the
	 * resident set, whatever the file's size. */
	bool mapped, plain; /* plain: read() the rest, not gzread (it is not gzip) */
	char *map, *own;
	size_t map_len, dropped; /* dropped: buf offset below which pages were let go */
	off_t map_pos;		 /* file offset of buf[0] while mapped */
	dev_t dev;
	ino_t ino;
	uint64_t bytes, overlong, rotations;
	volatile sig_atomic_t *stop; /* follow ends when *stop becomes non-zero */
};

/* Open path ("-" = stdin) with a buffer of bufsize bytes (also the longest line kept).
 * may_map: a plain regular file (not follow) may be mapped instead of read (see mapped). */
mt_status mt_ls_reader_open(struct mt_ls_reader *r, const char *path, size_t bufsize, bool follow, bool may_map,
			    volatile sig_atomic_t *stop, struct mt_err *err);
/* One read() is at most this much: with a pipeline (main.c) the parser hands its events on
 * before each read, so they never wait behind a large read or a blocking pipe. */
#define MT_LS_READ_MAX (1u << 20)

/* Is the buffer due for recycling (mt_ls_reader_fill would move the unread part to the
 * front)?  A pipeline swaps buffers exactly then. */
static inline bool mt_ls_reader_recycle(const struct mt_ls_reader *r)
{
	return !r->mapped && r->start && r->end >= r->soft;
}

/* Next line without its newline: 1 = line, 0 = end of input, -1 = read error (err filled).
 * Lines returned earlier may move (their slices become invalid). */
int mt_ls_reader_next(struct mt_ls_reader *r, const char **line, size_t *len, struct mt_err *err);

/* The same in two steps, for callers that keep earlier lines: mt_ls_reader_line returns 1
 * (line), 0 (end of input) or 2 (no complete line buffered: call mt_ls_reader_fill, which
 * reads once and returns 0, or -1 on a read error).  Fill moves earlier lines only when
 * mt_ls_reader_recycle(r) holds; swap buffers before that to keep them. */
int mt_ls_reader_line(struct mt_ls_reader *r, const char **line, size_t *len);
int mt_ls_reader_fill(struct mt_ls_reader *r, struct mt_err *err);
/* A line: a slice of the reader's buffer, without its newline. */
struct mt_ls_line {
	const char *p;
	size_t n;
};
/* Many lines at once: up to max newline-terminated lines buffered from r->start, in one pass
 * over the bytes (instead of a memchr call per line).  Returns how many were stored; fewer
 * than max means no complete line is left (or an overlong line is being skipped): then
 * mt_ls_reader_line says what comes next. */
size_t mt_ls_reader_lines(struct mt_ls_reader *r, struct mt_ls_line *out, size_t max);
/* The caller is done with every line handed out that ends at or before upto (mapped: their
 * pages may be let go; a line read again after that is faulted in again, whole).  Nothing
 * when not mapped. */
void mt_ls_reader_release(struct mt_ls_reader *r, const char *upto);
/* Continue in buf (r->cap bytes, or NULL at the end of a file): the unread partial line is
 * copied over; returns the previous buffer, which the caller now owns and must free.  While
 * mapped, buf replaces the buffer held for after the map, and that one is returned. */
char *mt_ls_reader_swap(struct mt_ls_reader *r, char *buf);
void mt_ls_reader_close(struct mt_ls_reader *r);
/* Did the mapped file shrink (or fail) while it was read?  Ask once every line of the file
 * is parsed: a block still being parsed after the reader left the map can take the fault
 * then.  (The reader itself only stops at the map's end.) */
bool mt_ls_reader_map_failed(const struct mt_ls_reader *r);
#define MT_LS_MAP_FAILED                                                                         \
	"the file shrank or failed while it was read: lines past that point are lost (and lines " \
	"read around it may count as unparsed)"

#endif
