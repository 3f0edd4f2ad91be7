/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MF_HELLO_H
#define MF_HELLO_H

/* Returns a static name; exported by mf_hello.ko. */
const char *mf_hello_name(void);

#endif
