/* doctor.h - walk the Okta setup and say how to fix each step. */
#ifndef OJIT_DOCTOR_H
#define OJIT_DOCTOR_H

/* Returns the process exit code: 0 when every step passed, 1 otherwise. */
int doctor_run(const char *config_path, const char *user_login, int json);

#endif
