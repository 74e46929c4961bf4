// SPDX-License-Identifier: Apache-2.0
/* pool.c - placeholder replaced by the thread pool implementation. */
#include "cpu/pool.h"
