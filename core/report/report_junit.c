/* report_junit.c — streaming JUnit XML through libxml2's xmlTextWriter. Each testsuite is
 * flushed to the file when written, so a batch of any length holds one suite at a time.
 * Memory: the writer owns its libxml2 objects until mt_junit_close().
 */
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>

#include "mailtls/report_junit.h"

struct mt_junit {
	xmlTextWriterPtr w;
	size_t suites;
};

#define X(s) ((const xmlChar *)(s))

mt_status mt_junit_open(const char *path, const char *name, struct mt_junit **out,
			struct mt_err *err)
{
	*out = NULL;
	struct mt_junit *j = calloc(1, sizeof *j);
	if (!j)
		return mt_err_set(err, MT_ERR_NOMEM, "out of memory");
	j->w = xmlNewTextWriterFilename(path, 0);
	if (!j->w) {
		free(j);
		return mt_err_set(err, MT_ERR_IO, "cannot write JUnit file %s", path);
	}
	xmlTextWriterSetIndent(j->w, 1);
	xmlTextWriterSetIndentString(j->w, X("  "));
	if (xmlTextWriterStartDocument(j->w, NULL, "UTF-8", NULL) < 0 ||
	    xmlTextWriterStartElement(j->w, X("testsuites")) < 0 ||
	    xmlTextWriterWriteAttribute(j->w, X("name"), X(name ? name : "mailtls")) < 0) {
		xmlFreeTextWriter(j->w);
		free(j);
		return mt_err_set(err, MT_ERR_IO, "cannot write JUnit file %s", path);
	}
	*out = j;
	return MT_OK;
}

mt_status mt_junit_suite(struct mt_junit *j, const char *name, double time_s,
			 const struct mt_junit_case *cases, size_t n, struct mt_err *err)
{
	size_t failures = 0, skipped = 0;
	for (size_t i = 0; i < n; i++) {
		failures += cases[i].failure != NULL;
		skipped += cases[i].skipped;
	}
	xmlTextWriterPtr w = j->w;
	int rc = 0;
	rc |= xmlTextWriterStartElement(w, X("testsuite")) < 0;
	rc |= xmlTextWriterWriteAttribute(w, X("name"), X(name)) < 0;
	rc |= xmlTextWriterWriteFormatAttribute(w, X("tests"), "%zu", n) < 0;
	rc |= xmlTextWriterWriteFormatAttribute(w, X("failures"), "%zu", failures) < 0;
	rc |= xmlTextWriterWriteAttribute(w, X("errors"), X("0")) < 0;
	rc |= xmlTextWriterWriteFormatAttribute(w, X("skipped"), "%zu", skipped) < 0;
	rc |= xmlTextWriterWriteFormatAttribute(w, X("time"), "%.3f", time_s) < 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct mt_junit_case *c = &cases[i];
		rc |= xmlTextWriterStartElement(w, X("testcase")) < 0;
		rc |= xmlTextWriterWriteAttribute(w, X("classname"), X(c->classname ? c->classname : name)) < 0;
		rc |= xmlTextWriterWriteAttribute(w, X("name"), X(c->name)) < 0;
		rc |= xmlTextWriterWriteFormatAttribute(w, X("time"), "%.3f", c->time_s) < 0;
		if (c->failure) {
			rc |= xmlTextWriterStartElement(w, X("failure")) < 0;
			rc |= xmlTextWriterWriteAttribute(w, X("message"), X(c->failure)) < 0;
			rc |= xmlTextWriterWriteAttribute(w, X("type"), X(c->failure_type ? c->failure_type : "failure")) < 0;
			if (c->detail)
				rc |= xmlTextWriterWriteString(w, X(c->detail)) < 0;
			rc |= xmlTextWriterEndElement(w) < 0;
		} else if (c->skipped) {
			rc |= xmlTextWriterStartElement(w, X("skipped")) < 0;
			if (c->detail)
				rc |= xmlTextWriterWriteAttribute(w, X("message"), X(c->detail)) < 0;
			rc |= xmlTextWriterEndElement(w) < 0;
		} else if (c->detail) {
			rc |= xmlTextWriterWriteElement(w, X("system-out"), X(c->detail)) < 0;
		}
		rc |= xmlTextWriterEndElement(w) < 0;
	}
	rc |= xmlTextWriterEndElement(w) < 0;
	rc |= xmlTextWriterFlush(w) < 0;
	j->suites++;
	return rc ? mt_err_set(err, MT_ERR_IO, "cannot write the JUnit file") : MT_OK;
}

mt_status mt_junit_close(struct mt_junit *j, struct mt_err *err)
{
	if (!j)
		return MT_OK;
	int rc = xmlTextWriterEndDocument(j->w) < 0;
	xmlFreeTextWriter(j->w);
	free(j);
	return rc ? mt_err_set(err, MT_ERR_IO, "cannot finish the JUnit file") : MT_OK;
}
