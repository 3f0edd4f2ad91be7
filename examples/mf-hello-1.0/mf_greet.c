// SPDX-License-Identifier: GPL-2.0
/*
 * mf_greet - calls mf_hello_name(), exported by mf_hello.ko of the same
 * package, so modpost must resolve a symbol between two modules of one build.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "mf_hello.h"

static int __init mf_greet_init(void)
{
	pr_info("mf_greet: greetings, %s\n", mf_hello_name());
	return 0;
}

static void __exit mf_greet_exit(void)
{
}

module_init(mf_greet_init);
module_exit(mf_greet_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modforge example: uses a symbol of mf_hello");
MODULE_VERSION("1.0");
