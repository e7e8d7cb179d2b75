/* fuzz_logscan_sendmail.c — libFuzzer harness for the sendmail line parser and the correlation engine
 * behind it (shared body in fuzz_logscan.h). */
#include "fuzz_logscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_logscan_run(data, size, MT_LS_FMT_SENDMAIL, mt_ls_sendmail_parse);
}
