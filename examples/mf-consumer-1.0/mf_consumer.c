// SPDX-License-Identifier: GPL-2.0
/*
 * mf_consumer - calls mf_hello_name(), exported by mf_hello.ko of another dkms
 * package (mf-hello). modpost learns that symbol from mf-hello's Module.symvers.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

/* Provided by mf_hello.ko (package mf-hello). */
const char *mf_hello_name(void);

static int __init mf_consumer_init(void)
{
	pr_info("mf_consumer: using %s\n", mf_hello_name());
	return 0;
}

static void __exit mf_consumer_exit(void)
{
}

module_init(mf_consumer_init);
module_exit(mf_consumer_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("modforge example: uses a symbol of another dkms package");
MODULE_VERSION("1.0");
