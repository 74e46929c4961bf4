// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cuda_probe.h - is there a usable CUDA device? Exposes no CUDA type.
 *
 * Used by the engine to resolve --backend auto and to say, in one log line,
 * why it runs on the CPU (no driver, no device, ...).
 */
#include <stdbool.h>
#include <stddef.h>

/* true when at least one device is usable; otherwise why[] says why. On
 * success why[] names the device ("NVIDIA H200, sm_90"). */
bool qp_cuda_probe(char *why, size_t n);
