// The API's errors: a refused request with its HTTP status, and how the control layer's typed
// refusals map onto Toxiproxy's status codes (404 unknown, 409 duplicate, 400 bad value).
#pragma once

#include <stdexcept>
#include <string>

#include "control/server.hpp"

namespace faultline::api {

class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

inline int http_status(control::ControlErrorKind kind) {
  switch (kind) {
    case control::ControlErrorKind::not_found:
      return 404;
    case control::ControlErrorKind::conflict:
      return 409;
    case control::ControlErrorKind::invalid:
      return 400;
    case control::ControlErrorKind::failed:
      break;
  }
  return 500;
}

}  // namespace faultline::api
