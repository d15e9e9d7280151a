// Statistics for comparing variants over seeds: mean, sample standard deviation, Student's t
// distribution (through the regularized incomplete beta function) and Welch's unequal-variance
// t-test with the confidence interval of the difference of means. No dependencies.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace attnlab::reports {

double mean(const std::vector<double>& xs);        // NaN when empty
double sample_std(const std::vector<double>& xs);  // n - 1 denominator; NaN when n < 2
double median(std::vector<double> xs);             // NaN when empty

// I_x(a, b) for a, b > 0 and 0 <= x <= 1 (continued fraction, Lentz's method).
double regularized_incomplete_beta(double a, double b, double x);
// P(T <= t) for Student's t with `df` > 0 degrees of freedom (df may be fractional).
double student_t_cdf(double t, double df);
// The t with P(T <= t) = p, for 0 < p < 1.
double student_t_quantile(double p, double df);

// Welch's t-test of mean(a) - mean(b). `valid` is false (with `why_not`) when either side has
// fewer than two values or both have zero variance; then only `diff` is meaningful.
struct WelchResult {
  double diff = 0;                 // mean(a) - mean(b)
  double se = 0;                   // sqrt(var_a / n_a + var_b / n_b)
  double t = 0;                    // diff / se
  double df = 0;                   // Welch–Satterthwaite degrees of freedom
  double p = 1;                    // two-sided p-value
  double ci_low = 0, ci_high = 0;  // `confidence` interval of diff: diff -+ t_q(df) * se
  bool valid = false;
  std::string why_not;
};
WelchResult welch_t_test(const std::vector<double>& a, const std::vector<double>& b,
                         double confidence = 0.95);

}  // namespace attnlab::reports
