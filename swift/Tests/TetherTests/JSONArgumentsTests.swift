import Foundation
import Tether
import XCTest

/// The Swift-side JSON helpers (no server needed).
final class JSONArgumentsTests: XCTestCase {
    func testTopLevelArgumentsAreSplitAcrossNestingAndStrings() throws {
        let arguments = JSONArguments(json: #"[{"a":[1,{"b":"]},"}]}, "x,\"y\"]", 3.25e2, null, [true,false]]"#)
        XCTAssertEqual(arguments.elements, [
            #"{"a":[1,{"b":"]},"}]}"#, #""x,\"y\"]""#, "3.25e2", "null", "[true,false]",
        ])
        XCTAssertEqual(try arguments.decode(String.self, at: 1), #"x,"y"]"#)
        XCTAssertEqual(try arguments.decode(Double.self, at: 2), 325)
        XCTAssertEqual(try arguments.decode(Int?.self, at: 3), nil)
        XCTAssertEqual(try arguments.decode([Bool].self, at: 4), [true, false])
        XCTAssertEqual(JSONArguments(json: "[]").count, 0)
        XCTAssertEqual(JSONArguments(json: " [ 1 ] ").elements, ["1"])
    }

    func testAMissingArgumentIsADecodingError() {
        XCTAssertThrowsError(try JSONArguments(json: "[1]").decode(Int.self, at: 1)) { error in
            guard case DecodingError.valueNotFound = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try JSONArguments(json: #"["x"]"#).decode(Int.self))
    }

    func testEncodingBuildsAnArgumentArray() throws {
        let arguments = try JSONArguments.encoding("a", 1, Note(text: "t", n: 2))
        XCTAssertEqual(arguments.count, 3)
        XCTAssertEqual(try arguments.decode(Note.self, at: 2), Note(text: "t", n: 2))
        XCTAssertEqual(try JSONArguments(json: "[1,2,3]").decodeAll(Int.self), [1, 2, 3])
    }
}
