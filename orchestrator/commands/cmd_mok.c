/* cmd_mok.c - generate_mok (dkms 3.4.3): make the MOK key pair unless both files exist,
 * saying which files and what it did. A plan of one keygen job, like every command that
 * changes something: --dry-run prints it and makes nothing. */
#include "orchestrator/commands/commands.h"

#include "orchestrator/context.h"
#include "orchestrator/plan/jobs.h"

int cmd_generate_mok(struct ctx *c)
{
	struct job_set s = JOB_SET_INIT;
	jobs_add(&s, JOB_KEYGEN, NULL, NULL, NULL, NULL)->keygen_says = true;
	int e = jobs_run_or_print(c, &s);
	jobs_release(&s);
	return e;
}
