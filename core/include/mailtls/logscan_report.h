/* logscan_report.h — streaming XML writer for logscan's --xml output (libxml2 xmlTextWriter).
 *
 * Only core/report/ includes libxml2, so logscan writes its XML through this small element/
 * attribute interface.  Records are written as they come, so the document never sits in
 * memory.  The writer owns its libxml2 state; the FILE stays the caller's.
 */
#ifndef MAILTLS_LOGSCAN_REPORT_H
#define MAILTLS_LOGSCAN_REPORT_H

#include "mailtls/util.h"

#include <stdint.h>
#include <stdio.h>

struct mt_lsxml;

/* Start a document on f with root element `root`; NULL on allocation failure. */
struct mt_lsxml *mt_lsxml_new(FILE *f, const char *root, struct mt_err *err);
/* Open a child element. */
mt_status mt_lsxml_start(struct mt_lsxml *x, const char *name);
/* Attribute on the element just opened; NULL or "" values are skipped. */
mt_status mt_lsxml_attr(struct mt_lsxml *x, const char *name, const char *value);
mt_status mt_lsxml_attr_u64(struct mt_lsxml *x, const char *name, uint64_t value);
/* <name>text</name> */
mt_status mt_lsxml_text(struct mt_lsxml *x, const char *name, const char *text);
mt_status mt_lsxml_end(struct mt_lsxml *x);
/* Close every open element, flush, free. */
mt_status mt_lsxml_finish(struct mt_lsxml *x);

#endif
