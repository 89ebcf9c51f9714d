// The modern RAII API: ftapi::Qot with lambdas, exceptions for call errors, and the
// blocking call next to the callback one.
//
// Usage: modern [host [port]]
#include "ftapi.hpp"

#include <cstdlib>
#include <future>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    std::string host = argc > 1 ? argv[1] : "127.0.0.1";
    std::uint16_t port = static_cast<std::uint16_t>(argc > 2 ? std::atoi(argv[2]) : 11111);

    try {
        ftapi::Qot qot;  // closed and freed when it goes out of scope
        std::promise<std::int64_t> connected;
        std::promise<ftapi::GroupsReply> replied;

        qot.on_init_connect([&](ftapi::Qot&, std::int64_t err, const std::string& desc) {
               if (err != 0) std::cerr << "InitConnect failed: " << desc << "\n";
               connected.set_value(err);
           })
            .on_groups([&](ftapi::Qot&, std::uint32_t serial, const ftapi::GroupsReply& r) {
                std::cout << "async reply, serial " << serial << "\n";
                replied.set_value(r);
            });
        qot.set_client_info("cpp-modern", 1);
        qot.connect(host, port);
        if (connected.get_future().get() != 0) return 1;
        std::cout << "connected, connID " << qot.connect_id() << "\n";

        std::uint32_t serial = qot.get_user_security_group(ftapi::GroupType::All);
        std::cout << "sent, serial " << serial << "\n";
        ftapi::GroupsReply r = replied.get_future().get();
        if (!r.ok()) {
            std::cerr << "failed: " << r.ret_type << " " << r.ret_msg << "\n";
            return 1;
        }
        for (const ftapi::Group& g : r.groups)
            std::cout << (g.type == 1 ? "custom " : "system ") << g.name << "\n";

        ftapi::GroupsReply custom = qot.get_user_security_group_sync(ftapi::GroupType::Custom);
        std::cout << "sync: " << custom.groups.size() << " custom groups\n";
        qot.close();
        return custom.ok() ? 0 : 1;
    } catch (const ftapi::Error& e) {
        std::cerr << "ftapi error " << e.code() << ": " << e.what() << "\n";
        return 1;
    }
}
