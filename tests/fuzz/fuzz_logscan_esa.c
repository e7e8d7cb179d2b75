/* fuzz_logscan_esa.c — libFuzzer harness for the esa line parser and the correlation engine
 * behind it (shared body in fuzz_logscan.h). */
#include "fuzz_logscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_logscan_run(data, size, MT_LS_FMT_ESA, mt_ls_esa_parse);
}
