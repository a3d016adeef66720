package localarm

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an ARM error: an HTTP status and the code and message of the
// {"error":{...}} envelope.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

// envelope is ARM's error body.
type envelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) body() errorBody { return errorBody{Code: e.code, Message: e.message} }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// invalidParameter is 400 InvalidParameter, Compute's code for a bad field.
func invalidParameter(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameter", format, args...)
}

// badRequest is 400 BadRequest; see the package doc for where it is used.
func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "BadRequest", format, args...)
}

// notAllowed is 409 OperationNotAllowed: the request is valid but the
// resource's state forbids it.
func notAllowed(format string, args ...any) *apiError {
	return errorf(http.StatusConflict, "OperationNotAllowed", format, args...)
}

// resourceNotFound is ARM's 404 for a resource that does not exist.
func resourceNotFound(k kind, rg, name string) *apiError {
	return errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found.", k.armType(), name, rg)
}

// sourceNotFound is the 404 for a creationData source that does not exist.
func sourceNotFound(id string) *apiError {
	return errorf(http.StatusNotFound, "ResourceNotFound", "The source resource '%s' was not found.", id)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("x-ms-error-code", e.code)
	writeJSON(w, e.status, envelope{Error: e.body()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "localarm: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
