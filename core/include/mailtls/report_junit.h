/* report_junit.h — a streaming JUnit XML writer (libxml2's xmlTextWriter): one <testsuite>
 * per call, written as it comes, so memory stays bounded however many suites a batch emits.
 *
 * The writer is not thread-safe; callers serialise. mt_junit_close() finishes the document
 * and frees the writer. Nothing returned needs freeing.
 */
#ifndef MAILTLS_REPORT_JUNIT_H
#define MAILTLS_REPORT_JUNIT_H

#include <stdbool.h>
#include <stddef.h>

#include "mailtls/util.h"

struct mt_junit_case {
	const char *classname;
	const char *name;
	double time_s;
	const char *failure;	   /* NULL: passed; else the failure message */
	const char *failure_type;  /* e.g. "dane-mismatch" */
	const char *detail;	   /* body of <failure> or <system-out>, may be NULL */
	bool skipped;
};

struct mt_junit;

/* Open FILE and write the <testsuites> start. */
mt_status mt_junit_open(const char *path, const char *name, struct mt_junit **out,
			struct mt_err *err);
/* Write one <testsuite name=...> with its cases. */
mt_status mt_junit_suite(struct mt_junit *j, const char *name, double time_s,
			 const struct mt_junit_case *cases, size_t n, struct mt_err *err);
/* Close the document and the file; frees j. */
mt_status mt_junit_close(struct mt_junit *j, struct mt_err *err);

#endif
