// SPDX-License-Identifier: GPL-2.0
/*
 * mf_hello - the smallest useful provider module of modforge's examples.
 * It exports one function that mf_greet (same package) and mf_consumer
 * (package mf-consumer, BUILD_DEPENDS=mf-hello) call.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "mf_hello.h"

const char *mf_hello_name(void)
{
	return "modforge";
}
EXPORT_SYMBOL_GPL(mf_hello_name);

static int __init mf_hello_init(void)
{
	pr_info("mf_hello: hello from %s\n", mf_hello_name());
	return 0;
}

static void __exit mf_hello_exit(void)
{
	pr_info("mf_hello: bye\n");
}

module_init(mf_hello_init);
module_exit(mf_hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modforge example: exports mf_hello_name()");
MODULE_VERSION("1.0");
