// Stand-ins for the two helpers the official sample takes from its Samples' tool.h (not part
// of the SDK): ProtoBufToBodyData (message -> JSON text) and UTF8ToLocal. Our own code.
// Also FTAPI_TEST_PORT: the simulator's port (runner mode sets OPEND_SIM_PORT).
#ifndef FTAPI_TEST_TOOL_H
#define FTAPI_TEST_TOOL_H
#include <cstdlib>
#include <string>
#ifdef FTAPI_WITH_PROTOBUF
#include <google/protobuf/util/json_util.h>
#endif

#define FTAPI_TEST_PORT static_cast<Futu::u16_t>(std::atoi(std::getenv("OPEND_SIM_PORT")))

// Prints the fields the message holds, as the reply carried them: a field OpenD did not send
// is not printed (so the output shows whether retMsg and errCode came).
inline bool ProtoBufToBodyData(const Qot_GetUserSecurityGroup::Response& rsp, std::string& out) {
#ifdef FTAPI_WITH_PROTOBUF
    google::protobuf::util::JsonPrintOptions opt;
    opt.add_whitespace = true;
    return google::protobuf::util::MessageToJsonString(rsp, &out, opt).ok();
#else
    // The same text protobuf's MessageToJsonString gives with add_whitespace (a newline
    // after the closing brace included).
    out = "{\n \"retType\": " + std::to_string(rsp.rettype());
    if (rsp.has_retmsg()) out += ",\n \"retMsg\": \"" + rsp.retmsg() + "\"";
    if (rsp.has_errcode()) out += ",\n \"errCode\": " + std::to_string(rsp.errcode());
    if (rsp.has_s2c()) {
        out += ",\n \"s2c\": {";
        if (rsp.s2c().grouplist_size() > 0) {
            out += "\n  \"groupList\": [";
            for (int i = 0; i < rsp.s2c().grouplist_size(); ++i)
                out += std::string(i ? "," : "") + "\n   {\n    \"groupName\": \"" + rsp.s2c().grouplist(i).groupname() +
                       "\",\n    \"groupType\": " + std::to_string(rsp.s2c().grouplist(i).grouptype()) + "\n   }";
            out += "\n  ]\n }";
        } else {
            out += "}";
        }
    }
    out += "\n}\n";
    return true;
#endif
}

inline std::string UTF8ToLocal(const std::string& s) { return s; }
#endif
