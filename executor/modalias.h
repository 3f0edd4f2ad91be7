/* modalias.h - --modprobe-on-install: load what the running machine's devices ask for,
 * right after modules were installed for the running kernel (dkms's modprobe_on_install).
 */
#ifndef MODFORGE_MODALIAS_H
#define MODFORGE_MODALIAS_H

#include <stdio.h>

/* Reads every "modalias" file below devices_dir (normally /sys/devices; links are not
 * followed), and runs `modprobe -a -b -q` once with each distinct alias, sorted; then,
 * if the unit file exists, `systemctl restart systemd-modules-load.service`. Failures
 * are warnings on err, as in dkms. Returns 0, or -errno when devices_dir cannot be read. */
int modalias_load(const char *devices_dir, const char *modules_load_unit, FILE *err);

#endif
