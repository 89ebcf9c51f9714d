// The C++ example of the official "Get Groups From Watchlist" doc page, as published, after
// the lines a user adds around it (includes, using-directives). Two build-time edits only:
// the include of ftapi.hpp, and the port 11111 -> FTAPI_TEST_PORT (the simulator's port),
// which run-tests.sh applies with sed to this file's copy. getchar() stays: the test feeds
// a newline once the reply has been printed.
#include "ftapi.hpp"
#include "tool.h"
#include <cstdio>
#include <iostream>
#include <string>
using namespace std;
using namespace Futu;
using namespace google;

class Program : public FTSPI_Qot, public FTSPI_Trd, public FTSPI_Conn
{
public:

    Program() {
        m_pQotApi = FTAPI::CreateQotApi();
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

    void Start() {
        m_pQotApi->InitConnect("127.0.0.1", 11111, false);
    }


    virtual void OnInitConnect(FTAPI_Conn* pConn, Futu::i64_t nErrCode, const char* strDesc) {
        cout << "connect" << endl;

        // construct request message
        Qot_GetUserSecurityGroup::Request req;
        Qot_GetUserSecurityGroup::C2S *c2s = req.mutable_c2s();
        c2s->set_grouptype(3);

        m_GetUserSecurityGroupSerialNo = m_pQotApi->GetUserSecurityGroup(req);
        cout << "Request GetUserSecurityGroup SerialNo: " << m_GetUserSecurityGroupSerialNo << endl;
    }

    virtual void OnReply_GetUserSecurityGroup(Futu::u32_t nSerialNo, const Qot_GetUserSecurityGroup::Response &stRsp){
        if(nSerialNo == m_GetUserSecurityGroupSerialNo)
        {
            cout << "OnReply_GetUserSecurityGroup SerialNo:" << nSerialNo << endl; 
            // print response
            // ProtoBufToBodyData and UTF8ToLocal refer to tool.h in Samples
            string resp_str;
            ProtoBufToBodyData(stRsp, resp_str);
            cout << UTF8ToLocal(resp_str) << endl;
        }
    }

protected:
    FTAPI_Qot *m_pQotApi;

    Futu::u32_t m_GetUserSecurityGroupSerialNo;
};

int32_t main(int32_t argc, char** argv)
{
    FTAPI::Init();

    {
        Program program;
        program.Start();
        getchar();
    }

    protobuf::ShutdownProtobufLibrary();
    FTAPI::UnInit();
    return 0;
}
