// The progress bar of wsol-train and wsol-eval (train/progress.h), drawn into a temporary file: the
// line's fields, terminal and log modes, finishing once, silence when disabled; and the training
// bar's loss text.
#include <cstdio>
#include <string>

#include "support/testing.h"
#include "train/progress.h"

namespace wsol::train {
namespace {

// Everything written to `f` so far.
std::string contents(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string text;
    char buf[256];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    return text;
}

// A style drawing into `f`, as a terminal (1) or a log (0), a line at most every `interval` seconds.
ProgressStyle into(std::FILE* f, int terminal, double interval = 30.0) {
    ProgressStyle style;
    style.out = f;
    style.terminal = terminal;
    style.log_interval = interval;
    return style;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST(Progress, LogModePrintsWholeLines) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        ProgressBar bar("epoch 1/3", 8, true, into(f, 0, 0.0));  // a line for every update
        bar.update(2, 64, " loss 1.5");
        bar.update(8, 256, " loss 1.2");
        bar.finish(" done");
        bar.finish(" again");  // once only
    }
    const std::string out = contents(f);
    std::fclose(f);
    EXPECT_EQ(count(out, "\n"), 3u) << out;
    EXPECT_EQ(out.find('\r'), std::string::npos);
    EXPECT_NE(out.find("[######..................] 2/8 epoch 1/3 "), std::string::npos) << out;
    EXPECT_NE(out.find(" img/s ETA "), std::string::npos) << out;
    EXPECT_NE(out.find(" loss 1.5\n"), std::string::npos) << out;
    EXPECT_NE(out.find("[########################] 8/8 epoch 1/3 "), std::string::npos) << out;
    EXPECT_NE(out.find(" in 0:00 done\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("again"), std::string::npos);
}

TEST(Progress, LogModeThrottlesAndTerminalModeRedraws) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    {
        ProgressBar bar("test", 100, true, into(f, 0));  // 30 s between lines
        for (int i = 1; i <= 100; ++i) bar.update(i, i);
    }  // never drew: the destructor stays silent
    EXPECT_EQ(contents(f), "");
    std::fclose(f);

    f = std::tmpfile();
    {
        ProgressStyle style = into(f, 1);
        style.rate_unit = "maps/s";
        ProgressBar bar("evaluating", 0, true, style);
        bar.set_total(4);
        bar.update(1, 1);  // the first update comes too soon after the start: not drawn
        bar.finish();
    }
    const std::string out = contents(f);
    std::fclose(f);
    EXPECT_EQ(out.rfind("\r[", 0), 0u) << out;  // redrawn in place
    EXPECT_EQ(count(out, "\n"), 1u);
    EXPECT_EQ(out.back(), '\n');
    EXPECT_NE(out.find("1/4 evaluating "), std::string::npos) << out;
    EXPECT_NE(out.find(" maps/s in 0:00"), std::string::npos) << out;
}

TEST(Progress, DisabledPrintsNothingAndOddTotalsAreSafe) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    const ProgressStyle style = into(f, 0, 0.0);
    {
        ProgressBar off("quiet", 10, false, style);
        off.update(5, 5);
        off.finish();
    }
    EXPECT_EQ(contents(f), "");
    {
        ProgressBar zero("empty", 0, true, style);  // no division by zero, an empty bar
        zero.update(3, 3);
        ProgressBar over("over", 2, true, style);  // more done than the total: a full bar, not past it
        over.update(5, 5);
    }
    const std::string out = contents(f);
    std::fclose(f);
    EXPECT_NE(out.find("[........................] 3/0 empty"), std::string::npos) << out;
    EXPECT_NE(out.find("[########################] 5/2 over"), std::string::npos) << out;
}

TEST(Progress, TrainingTextListsEachLossTerm) {
    const nlohmann::json sums = {{"loss", 6.0}, {"cls", 4.0}, {"area", 0.5}, {"norm", 1.5}, {"correct", 3}, {"seen", 4}};
    EXPECT_EQ(training_progress_text(sums, {"cls", "area", "norm"}, 5e-4),
              " loss 1.5000 (cls 1 area 0.125 norm 0.375) acc 75.0% lr 5.00e-04");
    EXPECT_EQ(training_progress_text(sums, {"cls"}, 1e-3), " loss 1.5000 acc 75.0% lr 1.00e-03");  // one term: no list
    EXPECT_EQ(training_progress_text(nlohmann::json::object(), {"cls"}, 1e-3), "");
}

TEST(Progress, FormatDuration) {
    EXPECT_EQ(format_duration(0.4), "0:00");
    EXPECT_EQ(format_duration(72.0), "1:12");
    EXPECT_EQ(format_duration(3723.0), "1:02:03");
    EXPECT_EQ(format_duration(-1.0), "?");
    EXPECT_EQ(format_duration(1e9), "?");
}

}  // namespace
}  // namespace wsol::train
