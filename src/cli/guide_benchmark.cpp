// srkit guide --benchmark: a method or model over the guided-SR data (data/guided) with each
// task's protocol and metrics, per scene and per dataset, and for a model the experts its routers
// pick per task (docs/guided.md, tables 1-3).
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "guide_flags.h"
#include "srkit/data/guided_datasets.h"
#include "srkit/io/line_plot.h"

namespace srkit::cli {
namespace {

std::string format_value(const std::string& metric, double value) {
  if (metric == "compared" || metric == "unknown") return fmt::format("{:.0f}", value);
  if (!std::isfinite(value)) return "inf";
  return fmt::format("{:.4f}", value);
}

std::string protocol_text(GuidedTask task, MriDownsampling mri) {
  switch (task) {
    case GuidedTask::kDepth:
      return "bicubic LR of the filled map, RMSE crop 6, unknown excluded";
    case GuidedTask::kPan:
      return "Wald: MTF-matched (gain 0.3) decimation, metrics on [0,1]";
    case GuidedTask::kMri:
      return mri == MriDownsampling::kKspace ? "k-space centre crop, PSNR/SSIM on 0..255, no crop"
                                             : "bicubic LR, PSNR/SSIM on 0..255, no crop";
  }
  return "";
}

struct TaskRun {
  nlohmann::json json;
  std::vector<std::vector<double>> usage;  // per level: the fraction of pixels per expert
};

TaskRun benchmark_task(const GuideArgs& args, GuidedTask task, std::vector<std::string>& csv) {
  const auto& name = guided_task_info(task).name;
  const auto upscaler = choose_upscaler(args, task);
  const auto mri = parse_mri_downsampling(args.mri_downsampling);
  const auto scales = args.scales.empty() ? guided_task_info(task).scales : args.scales;
  std::vector<BenchmarkScene> scenes;
  for (auto& scene : load_guided_scenes(task, parse_guided_split(args.split))) {
    scenes.push_back({scene.name, scene.target, scene.guide});
  }
  if (scenes.empty()) throw usage_error("the " + args.split + " split of " + name + " is empty");
  TaskRun run;
  nlohmann::json runs = nlohmann::json::array();
  for (int64_t scale : scales) {
    const auto result = run_guided_benchmark(
        task, scenes, scale, upscaler.run, mri,
        progress_printer(args.common, fmt::format("{} x{} {}", name, scale, upscaler.name)));
    clear_progress_line(args.common);
    nlohmann::json rows = nlohmann::json::array();
    for (const auto* group : {&result.scenes, &result.dataset_means}) {
      for (const auto& row : *group) {
        nlohmann::json metrics;
        std::string line = fmt::format("{} x{} {:<24}", name, scale, row.name);
        for (const auto& [metric, value] : row.metrics) {
          metrics[metric] = finite_or_null(value);
          line += fmt::format(" {}={}", metric, format_value(metric, value));
          csv.push_back(fmt::format("{},{},{},{},{},{}", name, upscaler.name, scale, row.name,
                                    metric, value));
        }
        rows.push_back({{"scene", row.name}, {"metrics", metrics}});
        say(args.common, line);
      }
    }
    runs.push_back({{"scale", scale}, {"rows", rows}});
  }
  say(args.common, fmt::format("{} protocol: {}; split {}", name, protocol_text(task, mri),
                               args.split));
  run.json = {{"task", name}, {"runs", runs}};
  if (upscaler.expert_counts && !upscaler.expert_counts->empty()) {
    nlohmann::json usage = nlohmann::json::array();
    for (const auto& counts : *upscaler.expert_counts) {
      // Each pixel picks top_k experts: fractions of the picks, summing to 1 per level.
      const auto fractions = counts / counts.sum();
      std::vector<double> level(fractions.data_ptr<double>(),
                                fractions.data_ptr<double>() + fractions.numel());
      usage.push_back(level);
      run.usage.push_back(level);
    }
    run.json["expert_usage"] = usage;
    say(args.common, name + " expert usage (fraction of picks per level): " + usage.dump());
  }
  return run;
}

// Expert usage of every task: x = level * M + expert, one series per task.
void plot_usage(const std::filesystem::path& path, const std::vector<std::string>& tasks,
                const std::vector<TaskRun>& runs) {
  const int64_t experts = runs.empty() || runs[0].usage.empty()
                             ? 0
                             : static_cast<int64_t>(runs[0].usage[0].size());
  LinePlot plot;
  plot.title = "Expert usage per task (test split, all scales)";
  plot.x_label = fmt::format("expert: 1-{} level 1, then level 2, level 3", experts);
  plot.y_label = "fraction of the level's expert picks";
  for (size_t t = 0; t < runs.size(); ++t) {
    PlotSeries series;
    series.label = tasks[t];
    double x = 1;
    for (const auto& level : runs[t].usage) {
      for (double fraction : level) {
        series.x.push_back(x++);
        series.y.push_back(fraction);
      }
    }
    plot.series.push_back(series);
  }
  save_line_plot(path, plot);
}

}  // namespace

int run_guide_benchmark(const GuideArgs& args) {
  std::vector<GuidedTask> tasks;
  if (args.task == "all") {
    for (int t = 0; t < kGuidedTaskCount; ++t) tasks.push_back(static_cast<GuidedTask>(t));
  } else {
    tasks.push_back(parse_guided_task(args.task));
  }
  if (!args.usage_plot.empty() && args.model.empty()) {
    throw usage_error("--usage-plot needs --model (classical methods have no experts)");
  }
  std::vector<std::string> csv{"task,method,scale,scene,metric,value"};
  std::vector<TaskRun> runs;
  std::vector<std::string> names;
  nlohmann::json per_task = nlohmann::json::array();
  for (auto task : tasks) {
    runs.push_back(benchmark_task(args, task, csv));
    per_task.push_back(runs.back().json);
    names.push_back(guided_task_info(task).name);
  }
  if (!args.csv.empty()) {
    write_lines(args.csv, csv);
  }
  if (!args.usage_plot.empty()) plot_usage(args.usage_plot, names, runs);
  if (args.common.json) {
    print_json({{"method", args.model.empty() ? args.method : args.model},
                {"split", args.split},
                {"mri_downsampling", args.mri_downsampling},
                {"tasks", per_task}});
  }
  return kExitOk;
}

}  // namespace srkit::cli
