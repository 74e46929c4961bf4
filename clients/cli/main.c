// SPDX-License-Identifier: Apache-2.0
/* main.c - qpercept CLI entry (being written). */
#include <stdio.h>
int main(void)
{
    return 0;
}
