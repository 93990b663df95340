/* XGBoost's native predictor through its C API, without Python: the peer
 * for predictd's single-row latency. Loads a JSON model, reads a CSV of
 * rows (header line, empty cell = missing), and times
 * XGBoosterPredictFromDense on batches cycling through the rows.
 *
 *   gcc -O2 -o xgboost_capi bench/xgboost_capi.c -l:libxgboost.so.0
 *   ./xgboost_capi MODEL.json ROWS.csv NTHREAD BATCH SECONDS
 *
 * Prints one line: batch, nthread, ns/row and per-call p50/p99 in µs.
 * Prototypes are declared here (Debian ships the library without its
 * header); they follow include/xgboost/c_api.h of XGBoost 1.6/1.7. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *BoosterHandle;
typedef void *DMatrixHandle;
typedef uint64_t bst_ulong;
int XGBoosterCreate(const DMatrixHandle dmats[], bst_ulong len, BoosterHandle *out);
int XGBoosterLoadModel(BoosterHandle handle, const char *fname);
int XGBoosterSetParam(BoosterHandle handle, const char *name, const char *value);
int XGBoosterPredictFromDense(BoosterHandle handle, char const *values, char const *config,
                              DMatrixHandle m, bst_ulong const **out_shape, bst_ulong *out_dim,
                              const float **out_result);
const char *XGBGetLastError(void);

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != 0) {                                                       \
      fprintf(stderr, "%s: %s\n", #call, XGBGetLastError());                 \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s MODEL.json ROWS.csv NTHREAD BATCH SECONDS\n", argv[0]);
    return 2;
  }
  int batch = atoi(argv[4]);
  double seconds = atof(argv[5]);
  FILE *f = fopen(argv[2], "r");
  if (!f) { perror(argv[2]); return 1; }
  static char line[1 << 16];
  if (!fgets(line, sizeof line, f)) return 1;
  int cols = 1;
  for (char *p = line; *p; p++) cols += *p == ',';
  size_t cap = 1 << 16, n = 0;
  float *data = malloc(cap * sizeof(float));
  int rows = 0;
  while (fgets(line, sizeof line, f)) {
    char *p = line;
    for (int c = 0; c < cols; c++) {
      char *end = p;
      while (*end && *end != ',' && *end != '\n') end++;
      char save = *end;
      *end = 0;
      if (n == cap) data = realloc(data, (cap *= 2) * sizeof(float));
      data[n++] = (end == p) ? NAN : (float)strtod(p, NULL);
      p = save ? end + 1 : end;
    }
    rows++;
  }
  fclose(f);

  BoosterHandle b;
  CHECK(XGBoosterCreate(NULL, 0, &b));
  CHECK(XGBoosterLoadModel(b, argv[1]));
  CHECK(XGBoosterSetParam(b, "nthread", argv[3]));
  const char *config =
      "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0,"
      " \"strict_shape\": false, \"cache_id\": 0, \"missing\": NaN}";
  char iface[256];
  bst_ulong const *shape;
  bst_ulong dim;
  const float *out;
  size_t maxcalls = 10000000, calls = 0;
  double *lat = malloc(maxcalls * sizeof(double));
  int r = 0;
  double start = now(), end = start + seconds, warm = start + 0.2;
  size_t rowsDone = 0;
  double t0 = 0;
  for (;;) {
    if (r + batch > rows) r = 0;
    snprintf(iface, sizeof iface,
             "{\"data\": [%lu, true], \"shape\": [%d, %d], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long)(uintptr_t)(data + (size_t)r * cols), batch, cols);
    double s = now();
    CHECK(XGBoosterPredictFromDense(b, iface, config, NULL, &shape, &dim, &out));
    double e = now();
    r += batch;
    if (s < warm) continue;
    if (t0 == 0) t0 = s;
    if (calls < maxcalls) lat[calls] = e - s;
    calls++;
    rowsDone += batch;
    if (e >= end) break;
  }
  double total = now() - t0;
  size_t k = calls < maxcalls ? calls : maxcalls;
  qsort(lat, k, sizeof(double), cmp);
  printf("batch=%d nthread=%s ns_per_row=%.0f call_p50_us=%.1f call_p99_us=%.1f calls=%zu\n", batch,
         argv[3], total / rowsDone * 1e9, lat[k / 2] * 1e6, lat[(size_t)(k * 0.99)] * 1e6, calls);
  return 0;
}
