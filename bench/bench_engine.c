// SPDX-License-Identifier: Apache-2.0
/*
 * bench_engine.c - `qpercept bench-engine` as a program of its own
 * (build/bench/bench_engine), the name the benchmark scripts call; the code
 * is clients/cli/cmd_bench_engine.c.
 */
#include "cli.h"

int main(int argc, char **argv)
{
    return qp_cli_bench_engine(argc, argv);
}
