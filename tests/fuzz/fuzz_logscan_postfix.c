/* fuzz_logscan_postfix.c — libFuzzer harness for the postfix line parser and the correlation engine
 * behind it (shared body in fuzz_logscan.h). */
#include "fuzz_logscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_logscan_run(data, size, MT_LS_FMT_POSTFIX, mt_ls_postfix_parse);
}
