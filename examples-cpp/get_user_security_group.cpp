// Get Groups From Watchlist, in the shape of the official C++ SDK sample: only the
// #include (and the link line) differ; getchar() is replaced by waiting for the reply
// so the program exits by itself.
//
//   g++ -std=c++11 -I<repo>/include get_user_security_group.cpp -L<repo>/target/release -lftapi
//   (add -DFTAPI_WITH_PROTOBUF, the protoc --cpp_out directory and its .pb.cc files and
//    $(pkg-config --libs protobuf) for the real protobuf messages)
//
// Usage: get_user_security_group [host [port [group_type]]]
#include "ftapi.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

#ifdef FTAPI_WITH_PROTOBUF
#include <google/protobuf/util/json_util.h>
#endif

using namespace std;
using namespace Futu;
using namespace google;

// Prints the response as JSON (the official sample uses tool.h from its Samples).
static string ResponseToJson(const Qot_GetUserSecurityGroup::Response& rsp) {
#ifdef FTAPI_WITH_PROTOBUF
    string out;
    protobuf::util::JsonPrintOptions opt;
    opt.add_whitespace = true;
    opt.preserve_proto_field_names = true;
    protobuf::util::MessageToJsonString(rsp, &out, opt);
    return out;
#else
    // The fields the reply carried, as protobuf's JSON printer shows them.
    string out = "{\n \"retType\": " + to_string(rsp.rettype());
    if (rsp.has_retmsg()) out += ",\n \"retMsg\": \"" + rsp.retmsg() + "\"";
    if (rsp.has_errcode()) out += ",\n \"errCode\": " + to_string(rsp.errcode());
    if (rsp.has_s2c()) {
        out += ",\n \"s2c\": {\n  \"groupList\": [";
        for (int i = 0; i < rsp.s2c().grouplist_size(); ++i) {
            const Qot_GetUserSecurityGroup::GroupData& g = rsp.s2c().grouplist(i);
            out += string(i ? "," : "") + "\n   {\n    \"groupName\": \"" + g.groupname() +
                   "\",\n    \"groupType\": " + to_string(g.grouptype()) + "\n   }";
        }
        out += "\n  ]\n }";
    }
    return out + "\n}";
#endif
}

class Program : public FTSPI_Qot, public FTSPI_Trd, public FTSPI_Conn
{
public:
    Program(const string& host, u16_t port, i32_t groupType)
        : m_host(host), m_port(port), m_groupType(groupType), m_done(false), m_ok(false) {
        m_pQotApi = FTAPI::CreateQotApi();
        m_pQotApi->SetClientInfo("cpp-sample", 1);
        m_pQotApi->RegisterQotSpi(this);
        m_pQotApi->RegisterConnSpi(this);
    }

    ~Program() {
        if (m_pQotApi != nullptr)
        {
            m_pQotApi->UnregisterQotSpi();
            m_pQotApi->UnregisterConnSpi();
            FTAPI::ReleaseQotApi(m_pQotApi);
            m_pQotApi = nullptr;
        }
    }

    bool Start() {
        return m_pQotApi->InitConnect(m_host.c_str(), m_port, false);
    }

    // Replaces the sample's getchar(): waits for the reply (or a failure).
    bool Wait(int seconds) {
        unique_lock<mutex> lock(m_mutex);
        m_cv.wait_for(lock, chrono::seconds(seconds), [this] { return m_done; });
        return m_done && m_ok;
    }

    virtual void OnInitConnect(FTAPI_Conn* pConn, Futu::i64_t nErrCode, const char* strDesc) {
        cout << "connect" << endl;
        if (nErrCode != 0) {
            cout << "InitConnect failed: " << nErrCode << " " << strDesc << endl;
            Finish(false);
            return;
        }
        cout << "connID: " << pConn->GetConnectID() << endl;

        // construct request message
        Qot_GetUserSecurityGroup::Request req;
        Qot_GetUserSecurityGroup::C2S *c2s = req.mutable_c2s();
        c2s->set_grouptype(m_groupType);

        m_GetUserSecurityGroupSerialNo = m_pQotApi->GetUserSecurityGroup(req);
        cout << "Request GetUserSecurityGroup SerialNo: " << m_GetUserSecurityGroupSerialNo << endl;
        if (m_GetUserSecurityGroupSerialNo == 0) Finish(false);
    }

    virtual void OnDisConnect(FTAPI_Conn*, Futu::i64_t nErrCode) {
        cout << "disconnect: " << nErrCode << endl;
        Finish(false);
    }

    virtual void OnReply_GetUserSecurityGroup(Futu::u32_t nSerialNo, const Qot_GetUserSecurityGroup::Response &stRsp) {
        if (nSerialNo == m_GetUserSecurityGroupSerialNo)
        {
            cout << "OnReply_GetUserSecurityGroup SerialNo:" << nSerialNo << endl;
            cout << ResponseToJson(stRsp) << endl;
            Finish(stRsp.rettype() == 0);
        }
    }

protected:
    void Finish(bool ok) {
        lock_guard<mutex> lock(m_mutex);
        if (!m_done) { m_done = true; m_ok = ok; }
        m_cv.notify_all();
    }

    FTAPI_Qot *m_pQotApi;
    Futu::u32_t m_GetUserSecurityGroupSerialNo = 0;
    string m_host;
    u16_t m_port;
    i32_t m_groupType;
    mutex m_mutex;
    condition_variable m_cv;
    bool m_done;
    bool m_ok;
};

int32_t main(int32_t argc, char** argv)
{
    string host = argc > 1 ? argv[1] : "127.0.0.1";
    u16_t port = static_cast<u16_t>(argc > 2 ? atoi(argv[2]) : 11111);
    i32_t type = argc > 3 ? atoi(argv[3]) : 3;

    FTAPI::Init();

    bool ok = false;
    {
        Program program(host, port, type);
        if (program.Start())
            ok = program.Wait(15);
        else
            cout << "InitConnect did not start" << endl;
    }

    protobuf::ShutdownProtobufLibrary();
    FTAPI::UnInit();
    return ok ? 0 : 1;
}
