import ftWebsocket from "opend";
import { ftCmdID } from "opend";
import { Common, Qot_Common, Qot_GetUserSecurityGroup } from "opend/proto";
import beautify from "js-beautify";

function QotGetUserSecurityGroup(){
    const { RetType } = Common
    const { GroupType } = Qot_GetUserSecurityGroup
    let [addr, port, enable_ssl, key] = ["127.0.0.1", 33333, false, '7522027ccf5a06b1'];
    let websocket = new ftWebsocket();

    websocket.onlogin = (ret, msg)=>{
        if (ret) { 

            const req = {
                c2s: {
                    groupType: GroupType.GroupType_All,
                },
            };
            
            websocket.GetUserSecurityGroup(req)
            .then((res) => {
                let { errCode, retMsg, retType,s2c } = res
                console.log("UserSecurityGroup: errCode %d, retMsg %s, retType %d", errCode, retMsg, retType); 
                if(retType == RetType.RetType_Succeed){
                    let data = beautify(JSON.stringify(s2c), {
                        indent_size: 2,
                        space_in_empty_paren: true,
                    });
                    console.log(data);
                }
            })
            .catch((error) => {
                console.log("error:", error);
            });
        } else {
            console.log("error", msg);
        }
    };

    websocket.start(addr, port, enable_ssl, key);
    
    // After using the connection, remember to close it to prevent the number of connections from running out
    setTimeout(()=>{ 
        websocket.stop();
        console.log("stop");
    }, 5000); // Set the script to receive OpenD push duration to 5 seconds
}
