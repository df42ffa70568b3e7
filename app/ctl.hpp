// `faultline ctl ...`: a command-line client for the control API (list, create, toggle, delete,
// toxic add/update/remove, reset, reload, metrics, version). Exits 0 on success, 1 with the
// server's error message (or why the API could not be reached), 2 on a usage error.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace faultline::app {

class Ctl {
 public:
  // Adds the `ctl` subcommand to `app`; `version` is sent as the User-Agent.
  Ctl(CLI::App& app, std::string version);
  ~Ctl();

  bool selected() const;  // after parsing: was `ctl` given?
  int run() const;

 private:
  struct Args;
  std::unique_ptr<Args> args_;
  CLI::App* ctl_ = nullptr;
  std::string version_;
};

}  // namespace faultline::app
