// synod/asio.h: every synod::Client operation as an Asio asynchronous
// operation, and WatchStream, an awaitable stream of watch events.
//
// Header-only, over the callback forms of synod/client.h. The consumer
// brings Asio: standalone Asio 1.22 or newer (`#include <asio.hpp>`, no
// Boost); the installed Synod::client does not link it.
//
// Completion tokens: each async_* takes any token built on async_initiate,
// with the completion signature `void(Result<T>)`, where T is what the
// blocking form of the same operation returns:
//   co_await synod::async_get(client, "/a", {}, asio::use_awaitable)
//       -> Result<Data>
//   synod::async_get(client, "/a", {}, asio::experimental::deferred)
//       -> a deferred operation (Asio 1.22 spells it experimental::deferred)
//   synod::async_get(client, "/a", {}, asio::bind_executor(strand, handler))
// Arguments are copied at the call (a deferred operation may start later).
//
// Where the completion runs: on the completion handler's associated
// executor (asio::get_associated_executor; the coroutine's executor for
// use_awaitable), posted from the client thread, never on the client thread
// itself and never inside the initiating call. Until it runs, the operation
// holds outstanding work on that executor (an executor_work_guard), so the
// caller's io_context does not run out of work while the answer is on its
// way. A handler with no associated executor completes on
// asio::system_executor.
//
// GCC 12 destroys an aggregate temporary twice when it is an argument
// inside a co_await expression: a `synod::Fence{"/lock", token}` (or options
// holding a fence, or a braced std::vector<MultiOp>) then frees its string
// twice. Name such arguments in a variable first. (Options that own no
// memory, `{.timeout_ms = 300}` say, come through in practice.)
//
// Lifetimes: the Client must outlive every operation started on it and
// every WatchStream made from it. An operation completes exactly once: with
// its answer, its timeout (timeout_ms, as in client.h), or CONNECTION_LOSS
// when the Client is destroyed first. Operations are not cancellable (a
// cancellation signal is ignored; set timeout_ms instead); WatchStream's
// async_next is.
#pragma once

#include <asio.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "synod/client.h"

namespace synod {
namespace asio_detail {

// A Callback<T> for the client thread that posts the Result to `handler`'s
// associated executor, holding work on it until then.
template <class T, class Handler>
Callback<T> to_callback(Handler handler) {
  using Executor = asio::associated_executor_t<Handler>;
  struct Pending {
    Handler handler;
    asio::executor_work_guard<Executor> work;
  };
  auto executor = asio::get_associated_executor(handler);
  auto pending = std::make_shared<Pending>(
      Pending{std::move(handler), asio::executor_work_guard<Executor>(executor)});
  return [pending](Result<T> result) {
    auto target = pending->work.get_executor();
    asio::post(target, [pending, result = std::move(result)]() mutable {
      Handler ready = std::move(pending->handler);
      pending->work.reset();
      std::move(ready)(std::move(result));
    });
  };
}

// Starts an operation: `start(callback)` calls the callback form of the
// Client. `start` owns every argument it needs.
template <class T, class Token, class Start>
auto initiate(Token&& token, Start start) {
  return asio::async_initiate<Token, void(Result<T>)>(
      [](auto handler, Start begin) {
        std::move(begin)(to_callback<T>(std::move(handler)));
      },
      token, std::move(start));
}

}  // namespace asio_detail

// ---- one function per operation (the arguments of client.h's forms) ----

// Completes with the Client once its session opens (Client::connect).
template <class Token>
auto async_connect(ClientOptions options, Token&& token) {
  return asio_detail::initiate<std::unique_ptr<Client>>(
      token, [options = std::move(options)](Callback<std::unique_ptr<Client>> done) mutable {
        Client::connect(std::move(options), std::move(done));
      });
}

template <class Token>
auto async_create(Client& client, std::string_view path, std::string_view data,
                  CreateOptions options, Token&& token) {
  return asio_detail::initiate<Created>(
      token, [c = &client, path = std::string(path), data = std::string(data),
              options = std::move(options)](Callback<Created> done) {
        c->create(path, data, options, std::move(done));
      });
}

template <class Token>
auto async_get(Client& client, std::string_view path, ReadOptions options, Token&& token) {
  return asio_detail::initiate<Data>(
      token, [c = &client, path = std::string(path), options](Callback<Data> done) {
        c->get(path, options, std::move(done));
      });
}

template <class Token>
auto async_exists(Client& client, std::string_view path, ReadOptions options, Token&& token) {
  return asio_detail::initiate<std::optional<Stat>>(
      token, [c = &client, path = std::string(path), options](Callback<std::optional<Stat>> done) {
        c->exists(path, options, std::move(done));
      });
}

template <class Token>
auto async_children(Client& client, std::string_view path, ChildrenOptions options,
                    Token&& token) {
  return asio_detail::initiate<ChildrenPage>(
      token, [c = &client, path = std::string(path),
              options = std::move(options)](Callback<ChildrenPage> done) {
        c->children(path, options, std::move(done));
      });
}

template <class Token>
auto async_all_children(Client& client, std::string_view path, std::size_t max,
                        ReadOptions options, Token&& token) {
  return asio_detail::initiate<std::vector<Child>>(
      token, [c = &client, path = std::string(path), max,
              options](Callback<std::vector<Child>> done) {
        c->all_children(path, max, options, std::move(done));
      });
}

template <class Token>
auto async_set(Client& client, std::string_view path, std::string_view data,
               WriteOptions options, Token&& token) {
  return asio_detail::initiate<Stat>(
      token, [c = &client, path = std::string(path), data = std::string(data),
              options = std::move(options)](Callback<Stat> done) {
        c->set(path, data, options, std::move(done));
      });
}

template <class Token>
auto async_remove(Client& client, std::string_view path, WriteOptions options, Token&& token) {
  return asio_detail::initiate<Done>(
      token, [c = &client, path = std::string(path), options = std::move(options)](
                 Callback<Done> done) { c->remove(path, options, std::move(done)); });
}

template <class Token>
auto async_multi(Client& client, std::vector<MultiOp> ops, std::optional<Fence> fence,
                 std::optional<std::int64_t> timeout_ms, Token&& token) {
  return asio_detail::initiate<std::vector<OpResult>>(
      token, [c = &client, ops = std::move(ops), fence = std::move(fence),
              timeout_ms](Callback<std::vector<OpResult>> done) {
        c->multi(ops, fence, timeout_ms, std::move(done));
      });
}

template <class Token>
auto async_sync(Client& client, std::optional<std::int64_t> timeout_ms, Token&& token) {
  return asio_detail::initiate<Done>(token, [c = &client, timeout_ms](Callback<Done> done) {
    c->sync(timeout_ms, std::move(done));
  });
}

template <class Token>
auto async_check_fence(Client& client, Fence fence, std::optional<std::int64_t> timeout_ms,
                       Token&& token) {
  return asio_detail::initiate<std::uint64_t>(
      token, [c = &client, fence = std::move(fence), timeout_ms](Callback<std::uint64_t> done) {
        c->check_fence(fence, timeout_ms, std::move(done));
      });
}

// `callback` still runs on the client thread (WatchStream brings events to
// an executor instead).
template <class Token>
auto async_set_watch(Client& client, std::string_view path, WatchKind kind,
                     WatchCallback callback, std::optional<std::uint64_t> from_zxid,
                     Token&& token) {
  return asio_detail::initiate<Done>(
      token, [c = &client, path = std::string(path), kind, callback = std::move(callback),
              from_zxid](Callback<Done> done) {
        c->set_watch(path, kind, callback, from_zxid, std::move(done));
      });
}

template <class Token>
auto async_remove_watch(Client& client, std::string_view path, WatchKind kind, Token&& token) {
  return asio_detail::initiate<Done>(
      token, [c = &client, path = std::string(path), kind](Callback<Done> done) {
        c->remove_watch(path, kind, std::move(done));
      });
}

// ---- WatchStream ----
//
// The events of one persistent or persistent_recursive watch, one
// async_next at a time, in the order the server sent them (zxid order):
//
//   synod::WatchStream stream(client, "/config", synod::WatchKind::persistent_recursive);
//   if (auto started = co_await stream.async_start(std::nullopt, asio::use_awaitable); !started)
//     ...;                                  // the server refused the watch
//   for (;;) {
//     auto event = co_await stream.async_next(asio::use_awaitable);
//     if (!event) break;                    // the stream ended: see below
//     ...event.value()...
//   }
//
// Events arriving while nobody waits are queued, at most events_max of them.
// The stream ends, after the events queued before, with one Error that
// every later async_next repeats:
//   LIMIT_EXCEEDED   the queue overflowed: events were lost (the message
//                    names the zxid after which). The watch is removed.
//   SESSION_EXPIRED  the session expired or was closed.
//   the server's     async_start failed (the watch was never set).
//   BAD_ARGUMENTS    close() was called (queued events are dropped).
// Cancelling an async_next (say by `co_await (stream.async_next(use_awaitable)
// || timer.async_wait(use_awaitable))`) completes it with TIMEOUT and takes
// no event; the stream goes on.
//
// One stream per (path, kind) per Client: a second set_watch on the same
// pair replaces the first's registration (client.h, set_watch). A session
// move is handled by the Client (it sets the watch again, from its last
// zxid). Threads: events come from the client thread; async_next and close
// may be called from any thread, but one async_next at a time (a second
// while one waits completes with BAD_ARGUMENTS); completions go to the
// handler's executor as above. Destroy the stream before its Client.
class WatchStream {
 public:
  static constexpr std::size_t events_max_default = 1024;

  // kind: persistent or persistent_recursive (else async_start fails with
  // BAD_ARGUMENTS). events_max: the queue's bound (0 is taken as 1).
  WatchStream(Client& client, std::string_view path, WatchKind kind,
              std::size_t events_max = events_max_default)
      : state_(std::make_shared<State>(client, std::string(path), kind,
                                       events_max == 0 ? 1 : events_max)) {
    std::weak_ptr<State> weak = state_;
    state_->listener = client.add_session_listener([weak](SessionState s, std::string_view why) {
      const auto state = weak.lock();
      if (!state || (s != SessionState::expired && s != SessionState::closed)) return;
      state->end_with(Error(ErrorCode::SESSION_EXPIRED,
                            std::string("the session is ") + std::string(session_state_name(s)) +
                                ": " + std::string(why)));
    });
  }

  ~WatchStream() { close(); }
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Sets the watch (Client::set_watch with from_zxid); completes with
  // Result<Done> once the server has it: changes after that are reported.
  // Once per stream.
  template <class Token>
  auto async_start(std::optional<std::uint64_t> from_zxid, Token&& token) {
    return asio_detail::initiate<Done>(token, [state = state_, from_zxid](Callback<Done> done) {
      state->start(from_zxid, std::move(done));
    });
  }

  // Completes with the next event, or with the Error that ended the stream.
  template <class Token>
  auto async_next(Token&& token) {
    return asio::async_initiate<Token, void(Result<WatchEvent>)>(
        [](auto handler, std::shared_ptr<State> state) {
          auto slot = asio::get_associated_cancellation_slot(handler);
          const std::uint64_t serial =
              state->next(std::make_unique<WaiterFor<decltype(handler)>>(std::move(handler)));
          if (serial != 0 && slot.is_connected()) {
            slot.assign([weak = std::weak_ptr<State>(state), serial](asio::cancellation_type) {
              if (const auto s = weak.lock()) s->cancel(serial);
            });
          }
        },
        token, state_);
  }

  // Ends the stream: a waiting async_next completes with BAD_ARGUMENTS, the
  // watch is removed (without waiting for the server). Idempotent.
  void close() {
    if (state_) state_->close();
  }

  // The zxid of the last event handed out (0 before the first).
  [[nodiscard]] std::uint64_t last_zxid() const {
    std::lock_guard lock(state_->mutex);
    return state_->last_zxid;
  }

 private:
  // One waiting async_next, its handler type erased.
  class Waiter {
   public:
    virtual ~Waiter() = default;
    // Posts the handler with `result` to its executor; once.
    virtual void finish(Result<WatchEvent> result) = 0;
  };

  template <class Handler>
  class WaiterFor final : public Waiter {
   public:
    explicit WaiterFor(Handler handler)
        : handler_(std::move(handler)), work_(asio::get_associated_executor(handler_)) {}

    void finish(Result<WatchEvent> result) override {
      auto target = work_.get_executor();
      asio::post(target, [handler = std::move(handler_), work = std::move(work_),
                          result = std::move(result)]() mutable {
        // The slot's cancellation handler names this wait; it goes first.
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.clear();
        work.reset();
        std::move(handler)(std::move(result));
      });
    }

   private:
    Handler handler_;
    asio::executor_work_guard<asio::associated_executor_t<Handler>> work_;
  };

  // Shared by the stream, the watch callback and the session listener (both
  // on the client thread), and the cancellation handler of a wait.
  struct State : std::enable_shared_from_this<State> {
    State(Client& c, std::string p, WatchKind k, std::size_t max)
        : client(&c), path(std::move(p)), kind(k), events_max(max) {}

    void start(std::optional<std::uint64_t> from_zxid, Callback<Done> done) {
      std::optional<Error> refused;
      {
        std::lock_guard lock(mutex);
        if (kind != WatchKind::persistent && kind != WatchKind::persistent_recursive) {
          refused = Error(ErrorCode::BAD_ARGUMENTS,
                          "a WatchStream needs a persistent or persistent_recursive watch");
        } else if (started || end) {
          refused = Error(ErrorCode::BAD_ARGUMENTS, "the stream was started or ended already");
        }
        started = true;
      }
      if (refused) {
        done(*refused);  // posts to the handler's executor: not run in this call
        return;
      }
      std::weak_ptr<State> weak = this->shared_from_this();
      client->set_watch(
          path, kind,
          [weak](const WatchEvent& event) {
            if (const auto state = weak.lock()) state->push(event);
          },
          from_zxid, [weak, done](Result<Done> result) {
            const auto state = weak.lock();
            if (state && !result.ok()) state->end_with(result.error());
            done(std::move(result));
          });
    }

    // Hands out a queued event or the end at once (returning 0), or keeps
    // the waiter and returns its serial (for cancel).
    std::uint64_t next(std::unique_ptr<Waiter> wait) {
      std::unique_lock lock(mutex);
      if (waiter) {
        lock.unlock();
        wait->finish(Error(ErrorCode::BAD_ARGUMENTS, "one async_next at a time"));
        return 0;
      }
      if (!events.empty()) {
        WatchEvent event = std::move(events.front());
        events.pop_front();
        last_zxid = event.zxid;
        lock.unlock();
        wait->finish(std::move(event));
        return 0;
      }
      if (end) {
        const Error error = *end;
        lock.unlock();
        wait->finish(error);
        return 0;
      }
      waiter = std::move(wait);
      return ++wait_serial;
    }

    // The awaiting executor, from a cancellation signal.
    void cancel(std::uint64_t serial) {
      std::unique_lock lock(mutex);
      if (!waiter || wait_serial != serial) return;
      auto taken = std::move(waiter);
      lock.unlock();
      taken->finish(Error(ErrorCode::TIMEOUT, "async_next was cancelled before an event came"));
    }

    // Client thread.
    void push(const WatchEvent& event) {
      std::unique_lock lock(mutex);
      if (end) return;
      if (waiter) {
        auto taken = std::move(waiter);
        last_zxid = event.zxid;
        lock.unlock();
        taken->finish(event);
        return;
      }
      if (events.size() < events_max) {
        events.push_back(event);
        return;
      }
      const std::uint64_t kept = events.back().zxid;
      lock.unlock();
      end_with(Error(ErrorCode::LIMIT_EXCEEDED,
                     "more than events_max (" + std::to_string(events_max) +
                         ") events waited unread on the stream for " + path +
                         "; events after zxid " + std::to_string(kept) + " were lost"));
      client->remove_watch(path, kind, {});
    }

    // The stream's end; what is queued is still handed out first.
    void end_with(Error error) {
      std::unique_lock lock(mutex);
      if (end) return;
      end = std::move(error);
      if (!waiter || !events.empty()) return;
      auto taken = std::move(waiter);
      const Error copy = *end;
      lock.unlock();
      taken->finish(copy);
    }

    void close() {
      bool remove = false;
      {
        std::lock_guard lock(mutex);
        if (closed) return;
        closed = true;
        remove = started && !end;
        events.clear();
      }
      end_with(Error(ErrorCode::BAD_ARGUMENTS, "the watch stream for " + path + " is closed"));
      client->remove_session_listener(listener);
      if (remove) client->remove_watch(path, kind, {});
    }

    Client* client;
    const std::string path;
    const WatchKind kind;
    const std::size_t events_max;
    std::uint64_t listener = 0;

    mutable std::mutex mutex;  // guards the members below
    // At most events_max (push checks, and ends the stream on overflow). Not
    // base::BoundedQueue: this header is installed and includes only the
    // standard library, Asio and synod/client.h.
    std::deque<WatchEvent> events;
    std::unique_ptr<Waiter> waiter;
    std::uint64_t wait_serial = 0;
    std::optional<Error> end;
    std::uint64_t last_zxid = 0;
    bool started = false;
    bool closed = false;
  };

  std::shared_ptr<State> state_;
};

}  // namespace synod
