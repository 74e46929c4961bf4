// SPDX-License-Identifier: Apache-2.0
/* import.c - placeholder until the importer lands (the helper replaces this file). */
#include "onnx/onnx.h"
