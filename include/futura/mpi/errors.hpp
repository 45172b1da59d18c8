// futura/mpi/errors.hpp: the exceptions a remote call can end with, besides its own.
#ifndef FUTURA_MPI_ERRORS_HPP
#define FUTURA_MPI_ERRORS_HPP

#include <futura/errors.hpp>

#include <string>

namespace futura::mpi {

/// An exception thrown by a remote call whose type cannot be rebuilt on the root. The
/// standard exceptions (std::invalid_argument, std::out_of_range, std::bad_alloc, ...) and
/// futura's own come back as themselves; anything else as a remote_error, which keeps the
/// original type's (demangled) name and its what(). what() is "<type name>: <message>".
class remote_error : public error {
 public:
  /// What the root rebuilds from a worker's report.
  remote_error(std::string type_name, std::string message, int rank);
  /// The thrown type, demangled ("geometry::degenerate_triangle"); for something that is
  /// not a std::exception, its type ("int"), and an empty message.
  std::string const& type_name() const noexcept { return type_name_; }
  /// The original what().
  std::string const& message() const noexcept { return message_; }
  /// The rank, in the executor's communicator, of the worker that ran the call.
  int rank() const noexcept { return rank_; }

 private:
  std::string type_name_;
  std::string message_;
  int rank_;
};

/// The worker has no function registered under the name the root sent: the ranks run
/// different binaries (or one was built without that FUTURA_MPI_REGISTER). The call's
/// future ends with this error; the worker and the executor go on.
class not_registered_error : public error {
 public:
  /// `signature_differs`: the name is registered there, with other parameter types.
  not_registered_error(std::string name, int rank, bool signature_differs);
  /// The name the root sent.
  std::string const& name() const noexcept { return name_; }
  /// The rank of the worker that did not know it.
  int rank() const noexcept { return rank_; }

 private:
  std::string name_;
  int rank_;
};

}  // namespace futura::mpi

#endif
