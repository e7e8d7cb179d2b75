/* logscan_xml.c — see mailtls/logscan_report.h.  Strings from logs may hold bytes that are
 * not valid UTF-8 or not allowed in XML; they are replaced by '?' before libxml2 sees them,
 * so the output always parses. */
#include "mailtls/logscan_report.h"

#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

struct mt_lsxml {
	xmlTextWriterPtr w;
	char *tmp;
	size_t tmpcap;
};

/* XML 1.0 allows tab, LF, CR and >= 0x20; keep ASCII and well-formed UTF-8 sequences. */
static const char *clean(struct mt_lsxml *x, const char *s)
{
	size_t n = strlen(s);
	if (n + 1 > x->tmpcap) {
		char *t = realloc(x->tmp, n + 1);
		if (!t)
			return "";
		x->tmp = t;
		x->tmpcap = n + 1;
	}
	size_t i = 0, o = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			x->tmp[o++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
			i++;
			continue;
		}
		size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		bool ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok) {
			memcpy(x->tmp + o, s + i, len);
			o += len;
			i += len;
		} else {
			x->tmp[o++] = '?';
			i++;
		}
	}
	x->tmp[o] = '\0';
	return x->tmp;
}

struct mt_lsxml *mt_lsxml_new(FILE *f, const char *root, struct mt_err *err)
{
	struct mt_lsxml *x = calloc(1, sizeof *x);
	if (!x) {
		mt_err_set(err, MT_ERR_NOMEM, "out of memory");
		return NULL;
	}
	xmlOutputBufferPtr out = xmlOutputBufferCreateFile(f, NULL);
	if (!out || !(x->w = xmlNewTextWriter(out))) {
		if (out)
			xmlOutputBufferClose(out);
		free(x);
		mt_err_set(err, MT_ERR_NOMEM, "cannot start XML output");
		return NULL;
	}
	xmlTextWriterSetIndent(x->w, 1);
	xmlTextWriterSetIndentString(x->w, BAD_CAST "  ");
	if (xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL) < 0 ||
	    xmlTextWriterStartElement(x->w, BAD_CAST root) < 0) {
		xmlFreeTextWriter(x->w);
		free(x);
		mt_err_set(err, MT_ERR_IO, "cannot write XML output");
		return NULL;
	}
	return x;
}

mt_status mt_lsxml_start(struct mt_lsxml *x, const char *name)
{
	return xmlTextWriterStartElement(x->w, BAD_CAST name) < 0 ? MT_ERR_IO : MT_OK;
}

mt_status mt_lsxml_attr(struct mt_lsxml *x, const char *name, const char *value)
{
	if (!value || !*value)
		return MT_OK;
	return xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST clean(x, value)) < 0 ? MT_ERR_IO : MT_OK;
}

mt_status mt_lsxml_attr_u64(struct mt_lsxml *x, const char *name, uint64_t value)
{
	return xmlTextWriterWriteFormatAttribute(x->w, BAD_CAST name, "%llu", (unsigned long long)value) < 0 ? MT_ERR_IO
													    : MT_OK;
}

mt_status mt_lsxml_text(struct mt_lsxml *x, const char *name, const char *text)
{
	return xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST clean(x, text ? text : "")) < 0 ? MT_ERR_IO
												       : MT_OK;
}

mt_status mt_lsxml_end(struct mt_lsxml *x)
{
	return xmlTextWriterEndElement(x->w) < 0 ? MT_ERR_IO : MT_OK;
}

mt_status mt_lsxml_finish(struct mt_lsxml *x)
{
	if (!x)
		return MT_OK;
	int rc = xmlTextWriterEndDocument(x->w);
	xmlFreeTextWriter(x->w); /* flushes and frees the output buffer, not the FILE */
	free(x->tmp);
	free(x);
	return rc < 0 ? MT_ERR_IO : MT_OK;
}
