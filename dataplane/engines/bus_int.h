/* Internal to the bus engine's files: calendar arithmetic shared by bus.c and bus_schedule.c. */
#ifndef BB_BUS_INT_H
#define BB_BUS_INT_H

#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms). */
int64_t bus_days_from_civil(int64_t year, unsigned month, unsigned day);
void bus_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);
unsigned bus_month_days(int64_t year, unsigned month);

#endif
