/* fuzz_logscan_exim.c — libFuzzer harness for the exim line parser and the correlation engine
 * behind it (shared body in fuzz_logscan.h). */
#include "fuzz_logscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_logscan_run(data, size, MT_LS_FMT_EXIM, mt_ls_exim_parse);
}
