// Statistics of the report checked against references written here independently: sums done
// by hand, Student's t density integrated numerically (Simpson), tabled t quantiles.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "attnlab/reports/stats.h"

using namespace attnlab::reports;

namespace {

double t_density(double t, double df) {
  return std::exp(std::lgamma((df + 1) / 2) - std::lgamma(df / 2)) / std::sqrt(df * M_PI) *
         std::pow(1 + t * t / df, -(df + 1) / 2);
}

// Composite Simpson's rule with n (even) panels.
template <class F>
double simpson(F f, double a, double b, int n = 20000) {
  const double h = (b - a) / n;
  double sum = f(a) + f(b);
  for (int i = 1; i < n; ++i) sum += f(a + i * h) * (i % 2 ? 4 : 2);
  return sum * h / 3;
}

double reference_t_cdf(double t, double df) {
  const double half = simpson([df](double x) { return t_density(x, df); }, 0, std::fabs(t));
  return t >= 0 ? 0.5 + half : 0.5 - half;
}

double reference_t_quantile(double p, double df) {
  double lo = 0, hi = 100;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (reference_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace

TEST_CASE("mean, sample std and median by hand") {
  CHECK(mean({3.0, 3.2, 3.1}) == Approx(3.1).epsilon(1e-14));
  // Deviations -0.1, +0.1, 0: sum of squares 0.02 over n - 1 = 2 -> variance 0.01.
  CHECK(sample_std({3.0, 3.2, 3.1}) == Approx(0.1).epsilon(1e-12));
  CHECK(sample_std({2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0}) == Approx(std::sqrt(32.0 / 7.0)));
  CHECK(std::isnan(sample_std({1.0})));
  CHECK(std::isnan(mean({})));
  CHECK(median({5.0, 1.0, 3.0}) == 3.0);
  CHECK(median({4.0, 1.0, 3.0, 2.0}) == 2.5);
}

TEST_CASE("regularized incomplete beta matches numerical integration") {
  std::mt19937 rng(11);
  // a, b >= 2 keep the integrand smooth at the ends, so Simpson is accurate to ~1e-12; the
  // t cdf test below covers b = 1/2 and a < 1.
  std::uniform_real_distribution<double> ab(2.0, 8.0), xs(0.02, 0.98);
  for (int trial = 0; trial < 20; ++trial) {
    const double a = ab(rng), b = ab(rng), x = xs(rng);
    const double log_beta = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
    auto integrand = [&](double t) {
      return std::exp((a - 1) * std::log(t) + (b - 1) * std::log1p(-t) - log_beta);
    };
    const double expected = simpson(integrand, 0.0, x);
    INFO("a=" << a << " b=" << b << " x=" << x);
    CHECK(regularized_incomplete_beta(a, b, x) == Approx(expected).epsilon(1e-8));
  }
  CHECK(regularized_incomplete_beta(2, 3, 0) == 0);
  CHECK(regularized_incomplete_beta(2, 3, 1) == 1);
  CHECK_THROWS(regularized_incomplete_beta(0, 1, 0.5));
  CHECK_THROWS(regularized_incomplete_beta(1, 1, 1.5));
}

TEST_CASE("Student's t cdf matches the integrated density, quantiles match tables") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> dfs(1.3, 40.0), ts(-6.0, 6.0);
  for (int trial = 0; trial < 20; ++trial) {
    const double df = dfs(rng), t = ts(rng);
    INFO("df=" << df << " t=" << t);
    CHECK(student_t_cdf(t, df) == Approx(reference_t_cdf(t, df)).epsilon(1e-8));
  }
  // Two-sided 95% critical values from a printed t table.
  CHECK(student_t_quantile(0.975, 1) == Approx(12.7062047).epsilon(1e-7));
  CHECK(student_t_quantile(0.975, 2) == Approx(4.30265273).epsilon(1e-7));
  CHECK(student_t_quantile(0.975, 10) == Approx(2.22813885).epsilon(1e-7));
  CHECK(student_t_quantile(0.975, 30) == Approx(2.04227246).epsilon(1e-7));
  CHECK(student_t_quantile(0.025, 5) == Approx(-2.57058184).epsilon(1e-7));
  const double df = 3.7;  // fractional, as Welch's df is
  CHECK(student_t_quantile(0.9, df) == Approx(reference_t_quantile(0.9, df)).epsilon(1e-7));
}

TEST_CASE("Welch's t-test: t, df, p and CI computed by hand") {
  std::mt19937 rng(2024);
  std::normal_distribution<double> noise(0.0, 0.03);
  std::vector<double> a, b;
  for (int i = 0; i < 3; ++i) a.push_back(3.10 + noise(rng));
  for (int i = 0; i < 4; ++i) b.push_back(3.16 + 2 * noise(rng));

  // By hand: means, unbiased variances, squared standard errors.
  double ma = 0, mb = 0;
  for (double x : a) ma += x / 3;
  for (double x : b) mb += x / 4;
  double va = 0, vb = 0;
  for (double x : a) va += (x - ma) * (x - ma) / 2;
  for (double x : b) vb += (x - mb) * (x - mb) / 3;
  const double sa = va / 3, sb = vb / 4;
  const double se = std::sqrt(sa + sb);
  const double t = (ma - mb) / se;
  const double df = (sa + sb) * (sa + sb) / (sa * sa / 2 + sb * sb / 3);
  const double p = 2 * (1 - reference_t_cdf(std::fabs(t), df));
  const double q = reference_t_quantile(0.975, df);

  const WelchResult w = welch_t_test(a, b);
  REQUIRE(w.valid);
  CHECK(w.diff == Approx(ma - mb).epsilon(1e-12));
  CHECK(w.se == Approx(se).epsilon(1e-12));
  CHECK(w.t == Approx(t).epsilon(1e-12));
  CHECK(w.df == Approx(df).epsilon(1e-12));
  CHECK(w.p == Approx(p).epsilon(1e-6));
  CHECK(w.ci_low == Approx(ma - mb - q * se).epsilon(1e-7));
  CHECK(w.ci_high == Approx(ma - mb + q * se).epsilon(1e-7));
  CHECK(w.ci_low < w.diff);
  CHECK(w.diff < w.ci_high);

  // Swapping the samples flips the sign and keeps p.
  const WelchResult r = welch_t_test(b, a);
  CHECK(r.t == Approx(-t));
  CHECK(r.p == Approx(w.p));

  const WelchResult single = welch_t_test({3.1}, b);
  CHECK_FALSE(single.valid);
  CHECK(single.why_not == "n = 1, no error bars");
  CHECK(single.diff == Approx(3.1 - mb));
  CHECK_FALSE(welch_t_test({1.0, 1.0}, {2.0, 2.0}).valid);
}
